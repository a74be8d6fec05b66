// A back-to-back stateful MPPE-128 link pair (test/helpers/ppp-harness) that
// loses one client→server data packet on demand: the set-up of the stateful
// resynchronisation tests (CCP Reset-Request / Reset-Ack, MPPE counters).
import { makePair, type Pair } from './ppp-harness.js';

/** A PPP data frame (FF 03 00 FD: MPPE-compressed datagram). */
export const isMppeData = (f: Uint8Array): boolean => f[0] === 0xff && f[2] === 0x00 && f[3] === 0xfd;

export const STATEFUL_MPPE_128 = { required: true, allow40: false, allow56: false, allow128: true, stateful: true };

export interface LossyPair {
  p: Pair;
  /** The next client→server data frame is dropped (one only). */
  dropNextC2sData(): void;
}

/** Both links started and settled (up, stateful MPPE both ways). */
export async function startStatefulLossyPair(): Promise<LossyPair> {
  let dropNext = false;
  const p = makePair({
    server: { mppe: STATEFUL_MPPE_128 },
    client: { mppe: STATEFUL_MPPE_128 },
    filter: (dir, f) => {
      if (dir === 'c2s' && isMppeData(f) && dropNext) {
        dropNext = false;
        return false;
      }
      return true;
    },
  });
  p.server.link.start();
  p.client.link.start();
  await p.settle();
  return { p, dropNextC2sData: () => (dropNext = true) };
}
