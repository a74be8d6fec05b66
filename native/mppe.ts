// The addon's MPPE cipher (native/src/mppe.c): the same primitive as
// src/crypto/mppe-cipher.ts jsMppeCipher, in C for the TUN datapath's
// per-packet cost. The codec logic stays in src/crypto/mppe.ts.
import type { MppeCipher } from '../src/crypto/mppe-cipher.js';
import { loadNative } from './index.js';

let cipher: MppeCipher | undefined;

/** Throws (naming the missing build) when the addon is not built. */
export function nativeMppeCipher(): MppeCipher {
  // The addon function itself, not a wrapper: one JS→C hop per packet.
  cipher ??= Object.freeze({ kind: 'native' as const, crypt: loadNative().mppeCrypt });
  return cipher;
}
