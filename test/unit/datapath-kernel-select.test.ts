// --datapath auto|kernel|tun: the probe and the choice, with injected checks
// (and, on this host, the real ones: no /dev/ppp here, so auto means TUN).
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync } from 'node:fs';
import type { Datapath } from '../../src/datapath/types.js';
import { decideDatapath, probeKernel, selectDatapath, type KernelProbeChecks } from '../../src/datapath/select.js';
import { systemProbeChecks } from '../../src/datapath/kernel/index.js';
import { systemClock } from '../../src/util/clock.js';
import { captureLog } from '../helpers/session-harness.js';

function checks(o: { dev: boolean; socketError?: NodeJS.ErrnoException }): KernelProbeChecks & { socketTries: number } {
  const c = {
    socketTries: 0,
    devPppExists: () => o.dev,
    openPptpSocket: () => {
      c.socketTries++;
      if (o.socketError) throw o.socketError;
    },
  };
  return c;
}

const noPptp = Object.assign(new Error('socket(AF_PPPOX, PX_PROTO_PPTP): Address family not supported by protocol'), {
  code: 'EAFNOSUPPORT',
  syscall: 'socket(AF_PPPOX, PX_PROTO_PPTP)',
});

test('probe: /dev/ppp missing, socket refused, both fine', () => {
  const a = checks({ dev: false });
  assert.deepEqual(probeKernel(a), { ok: false, why: '/dev/ppp does not exist (no ppp_generic in this kernel)' });
  assert.equal(a.socketTries, 0, 'no socket attempt without /dev/ppp');
  const b = probeKernel(checks({ dev: true, socketError: noPptp }));
  assert.equal(b.ok, false);
  assert.match(b.why, /cannot create an AF_PPPOX\/PX_PROTO_PPTP socket \(EAFNOSUPPORT\).*pptp module/);
  const c = checks({ dev: true });
  assert.equal(probeKernel(c).ok, true);
  assert.equal(c.socketTries, 1);
});

test('decision: auto follows the probe, kernel fails clearly when it cannot, tun never probes', () => {
  assert.equal(decideDatapath('auto', () => probeKernel(checks({ dev: true }))).kind, 'kernel');
  assert.equal(decideDatapath('auto', () => probeKernel(checks({ dev: false }))).kind, 'tun');
  assert.equal(decideDatapath('kernel', () => probeKernel(checks({ dev: true }))).kind, 'kernel');
  assert.throws(
    () => decideDatapath('kernel', () => probeKernel(checks({ dev: true, socketError: noPptp }))),
    (e: Error & { code?: string }) =>
      e.code === 'ERR_DATAPATH_UNAVAILABLE' && /--datapath kernel: this host cannot run the kernel PPTP datapath: cannot create/.test(e.message),
  );
  let probed = false;
  assert.deepEqual(decideDatapath('tun', () => ((probed = true), { ok: true, why: '' })), { kind: 'tun', why: '--datapath tun' });
  assert.equal(probed, false);
});

function fakeDp(kind: 'kernel' | 'tun'): Datapath {
  return { kind, openCall: () => { throw new Error('unused'); }, close: async () => {} };
}

test('selectDatapath opens the chosen datapath and logs which and why', async () => {
  const { log, lines } = captureLog();
  const openers = { openKernel: async () => fakeDp('kernel'), openTun: async () => fakeDp('tun') };
  const k = await selectDatapath('auto', { clock: systemClock, log, checks: checks({ dev: true }), ...openers });
  assert.equal(k.kind, 'kernel');
  const t = await selectDatapath('auto', { clock: systemClock, log, checks: checks({ dev: false }), ...openers });
  assert.equal(t.kind, 'tun');
  const [l1, l2] = lines.filter((l) => l.component === 'datapath');
  assert.equal(l1!.datapath, 'kernel');
  assert.match(l1!.msg, /^datapath auto: using the kernel datapath \(\/dev\/ppp exists/);
  assert.equal(l2!.datapath, 'tun');
  assert.match(l2!.msg, /^datapath auto: using TUN \(\/dev\/ppp does not exist/);
  await assert.rejects(
    selectDatapath('kernel', { clock: systemClock, log, checks: checks({ dev: false }), ...openers }),
    /--datapath kernel: this host cannot run the kernel PPTP datapath: \/dev\/ppp does not exist/,
  );
});

test('on this host (no /dev/ppp): the real probe makes auto pick TUN', { skip: existsSync('/dev/ppp') ? 'this host has /dev/ppp' : false }, async () => {
  const p = probeKernel(await systemProbeChecks());
  assert.equal(p.ok, false);
  assert.match(p.why, /\/dev\/ppp does not exist/);
  assert.equal(decideDatapath('auto', () => p).kind, 'tun');
});
