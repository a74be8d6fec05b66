// The addon's MPPE cipher (native/src/mppe.c): the same primitive as
// src/crypto/mppe-cipher.ts jsMppeCipher, in C for the TUN datapath's
// per-packet cost. The codec logic stays in src/crypto/mppe.ts.
import type { MppeCipher } from '../src/crypto/mppe-cipher.js';
import { loadNative } from './index.js';

let cipher: MppeCipher | undefined;

/** Throws (naming the missing build) when the addon is not built. */
export function nativeMppeCipher(): MppeCipher {
  if (cipher) return cipher;
  const native = loadNative();
  const packed = native.mppeCryptPacked;
  const a = native.mppeCryptArgs;
  // The seven integers go through the addon's Int32Array: an N-API call
  // converting 10 arguments cost ~1/3 more than one converting 3.
  const crypt: MppeCipher['crypt'] = (st, dir, rekeys, keyOff, input, inOff, len, out, outOff, flags) => {
    a[0] = dir;
    a[1] = rekeys;
    a[2] = keyOff;
    a[3] = inOff;
    a[4] = len;
    a[5] = outOff;
    a[6] = flags;
    // What the Int32Array silently coerced (a string, 1.5, 2^31, a missing argument) is refused, as the 10-argument call did.
    if (a[0] !== dir || a[1] !== rekeys || a[2] !== keyOff || a[3] !== inOff || a[4] !== len || a[5] !== outOff || a[6] !== flags) {
      throw new TypeError('mppe crypt: offsets, lengths and flags must be int32 numbers');
    }
    return packed(st, input, out);
  };
  cipher = Object.freeze({ kind: 'native' as const, crypt });
  return cipher;
}
