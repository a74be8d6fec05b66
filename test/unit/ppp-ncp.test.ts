// CCP (MPPE option 18, RFC 3078) and IPCP (RFC 1332/1877) on a server link,
// byte-exact frames. The peer's LCP is minimal, authentication is a fake that
// the test completes with MS-CHAPv2-style key material.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { authOk, hex, openLcp, scriptedServer, toHex, type Scripted } from '../helpers/ppp-harness.js';
import type { PppPolicy } from '../../src/ppp/types.js';

const CCP_REQ_128 = toHex(hex(`ff 03 80 fd  01 01 00 0a  12 06 01 00 00 40  # MPPE: H (stateless) + S (128-bit)`));
const IPCP_REQ = toHex(hex(`ff 03 80 21  01 01 00 0a  03 06 0a 00 00 01  # our address 10.0.0.1`));

function network(over: Partial<PppPolicy> = {}): Scripted {
  const s = scriptedServer(over);
  openLcp(s);
  authOk(s);
  return s;
}

/** Ack our CCP request and send an acceptable one: CCP Opened with MPPE-128 stateless. */
function openCcp(s: Scripted): void {
  s.feed(`ff 03 80 fd 02 01 00 0a  12 06 01 00 00 40`);
  s.feed(`ff 03 80 fd 01 01 00 0a  12 06 01 00 00 40`);
}

test('network phase starts with our CCP request (strongest allowed bit only, stateless); IPCP waits for CCP when MPPE is required', () => {
  const s = network();
  assert.equal(s.link.phase, 'network');
  assert.deepEqual(s.take(), [CCP_REQ_128]);
  assert.deepEqual(s.assigned, [{ user: 'alice', requested: undefined }]);
  openCcp(s);
  assert.deepEqual(s.take(), [
    toHex(hex(`ff 03 80 fd  02 01 00 0a  12 06 01 00 00 40  # Configure-Ack`)),
    IPCP_REQ,
  ]);
});

test('peer offering 40/56/128 is nak\'d to 128 stateless; MPPC bit is nak\'d away; BSD-compress and deflate rejected', () => {
  const s = network();
  s.take();
  s.feed(`ff 03 80 fd 01 05 00 0a  12 06 01 00 00 e0  # H + M + S + L`);
  assert.deepEqual(s.take(), [toHex(hex(`ff 03 80 fd 03 05 00 0a  12 06 01 00 00 40`))]);
  s.feed(`
    ff 03 80 fd 01 06 00 11
    12 06 00 00 00 41   # MPPC + S, stateful
    15 03 2f            # BSD-compress
    1a 04 78 00         # deflate
  `);
  assert.deepEqual(s.take(), [toHex(hex(`ff 03 80 fd 04 06 00 0b  15 03 2f  1a 04 78 00`))]);
  s.feed(`ff 03 80 fd 01 07 00 0a  12 06 00 00 00 41`);
  assert.deepEqual(s.take(), [toHex(hex(`ff 03 80 fd 03 07 00 0a  12 06 01 00 00 40  # stateful not allowed: H`))]);
  s.feed(`ff 03 80 fd 01 08 00 0a  18 04 00 00  01 02  # deflate (24), predictor 1`);
  assert.deepEqual(s.take(), [toHex(hex(`ff 03 80 fd 04 08 00 0a  18 04 00 00  01 02`))]);
});

test('a peer request without MPPE is nak\'d asking for it (MPPE required)', () => {
  const s = network();
  s.take();
  s.feed(`ff 03 80 fd 01 09 00 04`);
  assert.deepEqual(s.take(), [toHex(hex(`ff 03 80 fd 03 09 00 0a  12 06 01 00 00 40`))]);
});

test('40-bit only policy offers L; peer\'s 128 nak\'d to 40', () => {
  const s = network({ mppe: { required: true, allow40: true, allow56: false, allow128: false, stateful: false } });
  assert.deepEqual(s.take(), [toHex(hex(`ff 03 80 fd 01 01 00 0a  12 06 01 00 00 20`))]);
  s.feed(`ff 03 80 fd 01 02 00 0a  12 06 01 00 00 40`);
  assert.deepEqual(s.take(), [toHex(hex(`ff 03 80 fd 03 02 00 0a  12 06 01 00 00 20`))]);
});

test('peer Configure-Rejects option 18 while MPPE is required → link ends with that reason', () => {
  const s = network();
  s.take();
  s.feed(`ff 03 80 fd 04 01 00 0a  12 06 01 00 00 40`);
  const out = s.take();
  assert.match(out.at(-1)!, /^ff03c02105/, 'LCP Terminate-Request');
  s.feed(`ff 03 c0 21 06 ${out.at(-1)!.slice(10, 12)} 00 04`);
  assert.deepEqual(s.downs, ['peer refused MPPE encryption (required by require-mppe-128)']);
});

test('peer Protocol-Rejects CCP while MPPE is required → link ends with that reason', () => {
  const s = network();
  s.take();
  s.feed(`ff 03 c0 21 08 09 00 0c  80 fd 01 01 00 0a 12 06`);
  s.clock.advance(6000);
  assert.deepEqual(s.downs, ['peer refused MPPE encryption (required by require-mppe-128)']);
});

test('MPPE optional and CCP Protocol-Rejected: IPCP proceeds and the link comes up without MPPE', () => {
  const s = network({ mppe: { required: false, allow40: false, allow56: false, allow128: true, stateful: false } });
  assert.deepEqual(s.take(), [CCP_REQ_128, IPCP_REQ], 'CCP and IPCP start together');
  s.feed(`ff 03 c0 21 08 09 00 0c  80 fd 01 01 00 0a 12 06`);
  s.feed(`ff 03 80 21 02 01 00 0a  03 06 0a 00 00 01`);
  s.feed(`ff 03 80 21 01 01 00 0a  03 06 0a 00 00 02`);
  assert.equal(s.ups.length, 1);
  assert.equal(s.ups[0].mppe, null);
  assert.equal(s.link.phase, 'running');
});

test('MPPE required but authentication gave no keys (PAP/CHAP-MD5) → link closes', () => {
  const s = scriptedServer({ auth: ['pap'] });
  openLcp(s);
  authOk(s, null);
  s.clock.advance(6000);
  assert.deepEqual(s.downs, ['MPPE is required but pap authentication provides no MPPE keys']);
});

test('nomppe: CCP from the peer is Protocol-Rejected', () => {
  const s = scriptedServer({ mppe: null });
  openLcp(s);
  authOk(s);
  assert.deepEqual(s.take(), [IPCP_REQ]);
  s.feed(`ff 03 80 fd 01 01 00 0a  12 06 01 00 00 40`);
  assert.deepEqual(s.take(), [toHex(hex(`ff 03 c0 21 08 02 00 10  80 fd  01 01 00 0a 12 06 01 00 00 40`))]);
});

test('IPCP: VJ rejected; 0.0.0.0 and zero DNS nak\'d with pool address and ms-dns; then acked; link up', () => {
  const s = network({ dns: ['8.8.8.8', '8.8.4.4'] });
  openCcp(s);
  s.take();
  s.feed(`
    ff 03 80 21 01 01 00 26
    02 06 00 2d 0f 01   # VJ compression
    03 06 00 00 00 00   # address 0.0.0.0
    81 06 00 00 00 00   # primary DNS
    83 06 00 00 00 00   # secondary DNS
    01 0a 00 00 00 00 00 00 00 00  # IP-Addresses (deprecated)
  `);
  assert.deepEqual(s.take(), [toHex(hex(`ff 03 80 21 04 01 00 14  02 06 00 2d 0f 01  01 0a 00 00 00 00 00 00 00 00`))]);
  s.feed(`ff 03 80 21 01 02 00 16  03 06 00 00 00 00  81 06 00 00 00 00  83 06 00 00 00 00`);
  assert.deepEqual(s.take(), [toHex(hex(`
    ff 03 80 21 03 02 00 16
    03 06 0a 00 00 02   # the pool address
    81 06 08 08 08 08
    83 06 08 08 04 04
  `))]);
  s.feed(`ff 03 80 21 01 03 00 16  03 06 0a 00 00 02  81 06 08 08 08 08  83 06 08 08 04 04`);
  assert.deepEqual(s.take(), [toHex(hex(`ff 03 80 21 02 03 00 16  03 06 0a 00 00 02  81 06 08 08 08 08  83 06 08 08 04 04`))]);
  assert.equal(s.ups.length, 0, 'not up before our request is acked');
  s.feed(`ff 03 80 21 02 01 00 0a  03 06 0a 00 00 01`);
  assert.equal(s.ups.length, 1);
  const up = s.ups[0];
  assert.equal(up.local, '10.0.0.1');
  assert.equal(up.peer, '10.0.0.2');
  assert.deepEqual(up.dns, ['8.8.8.8', '8.8.4.4']);
  assert.equal(up.user, 'alice');
  assert.equal(up.mtu, 1400);
  assert.deepEqual(up.mppe && [up.mppe.bits, up.mppe.stateful, up.mppe.sendKey.length], [128, false, 16]);
  assert.equal(s.link.phase, 'running');
});

test('IPCP: NBNS without ms-wins rejected; with ms-wins a wrong value is nak\'d; no DNS configured → DNS rejected', () => {
  const s = network({ dns: [], wins: ['10.9.9.9'] });
  openCcp(s);
  s.take();
  s.feed(`ff 03 80 21 01 01 00 1c  03 06 0a 00 00 02  81 06 00 00 00 00  82 06 01 02 03 04  84 06 00 00 00 00`);
  assert.deepEqual(s.take(), [toHex(hex(`ff 03 80 21 04 01 00 10  81 06 00 00 00 00  84 06 00 00 00 00`))]);
  s.feed(`ff 03 80 21 01 02 00 10  03 06 0a 00 00 02  82 06 01 02 03 04`);
  assert.deepEqual(s.take(), [toHex(hex(`ff 03 80 21 03 02 00 0a  82 06 0a 09 09 09`))]);
});

test('IPCP: a specific address is granted only if assignAddress allows it; a request without address is nak\'d to include one', () => {
  const s = network();
  openCcp(s);
  s.take();
  s.feed(`ff 03 80 21 01 01 00 0a  03 06 0a 00 00 63  # asks 10.0.0.99 (refused)`);
  assert.deepEqual(s.take(), [toHex(hex(`ff 03 80 21 03 01 00 0a  03 06 0a 00 00 02`))]);
  s.feed(`ff 03 80 21 01 02 00 0a  03 06 0a 00 00 4d  # asks 10.0.0.77 (allowed)`);
  assert.deepEqual(s.take(), [toHex(hex(`ff 03 80 21 02 02 00 0a  03 06 0a 00 00 4d`))]);
  assert.deepEqual(s.assigned.map((a) => a.requested), [undefined, '10.0.0.99', '10.0.0.77']);
  s.feed(`ff 03 80 21 01 03 00 04`);
  assert.deepEqual(s.take(), [toHex(hex(`ff 03 80 21 03 03 00 0a  03 06 0a 00 00 4d`))]);
});

test('pool empty: the link closes naming the pool error', () => {
  const s = scriptedServer();
  s.pool = { error: 'address pool exhausted' };
  openLcp(s);
  authOk(s);
  const term = s.take().at(-1)!;
  assert.match(term, /^ff03c02105/);
  s.feed(`ff 03 c0 21 06 ${term.slice(10, 12)} 00 04`);
  assert.deepEqual(s.downs, ['no IP address for alice: address pool exhausted']);
});

test('CCP Reset-Request from the peer is answered with Reset-Ack (same id)', () => {
  const s = network();
  openCcp(s);
  s.take();
  s.feed(`ff 03 80 fd 0e 33 00 04`);
  assert.deepEqual(s.take(), [toHex(hex(`ff 03 80 fd 0f 33 00 04`))]);
});
