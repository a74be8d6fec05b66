// pppd `nopcomp` / `noaccomp` on a server link (RFC 1661 6.5, 6.6): the
// peer's PFC / ACFC is Configure-Rejected, we never ask for either, and the
// link then sends full headers (FF 03, 2-byte protocol). Byte-exact frames;
// our magic number is 0x11223344 (fixed random source).
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { hex, ipPacket, openLcp, scriptedServer, toHex } from '../helpers/ppp-harness.js';

// A Windows/Linux-like Configure-Request asking for both compressions.
const PEER_REQ = `
  ff 03 c0 21 01 07 00 12  # Configure-Request id 7, length 18
  01 04 05 78              # MRU 1400
  05 06 4f 2a 61 0c        # magic
  07 02                    # PFC
  08 02                    # ACFC
`;

const OUR_CONFREQ = toHex(hex(`
  ff 03 c0 21 01 01 00 13  # Configure-Request id 1, length 19
  01 04 05 78              # MRU 1400
  03 05 c2 23 81           # auth CHAP / MS-CHAPv2
  05 06 11 22 33 44        # magic
`));

test('nopcomp + noaccomp: the peer\'s PFC and ACFC are Configure-Rejected, exactly those two options', () => {
  const s = scriptedServer({ nopcomp: true, noaccomp: true });
  s.link.start();
  assert.deepEqual(s.take(), [OUR_CONFREQ], 'we never ask for PFC/ACFC (no 07 02 / 08 02 in our request)');
  s.feed(PEER_REQ);
  assert.deepEqual(s.take(), [toHex(hex(`
    ff 03 c0 21 04 07 00 08  # Configure-Reject id 7, length 8
    07 02                    # PFC
    08 02                    # ACFC
  `))]);
  // The peer drops them: acked verbatim, link goes on; neither is in use.
  s.feed(`ff 03 c0 21 01 08 00 0e  01 04 05 78  05 06 4f 2a 61 0c`);
  assert.deepEqual(s.take(), [toHex(hex(`ff 03 c0 21 02 08 00 0e  01 04 05 78  05 06 4f 2a 61 0c`))]);
  s.feed(OUR_CONFREQ.replace(/^ff03c0210101/, 'ff03c0210201'));
  assert.equal(s.link.lcp.fsm.state, 'opened');
  assert.equal(s.link.lcp.peerPfc, false);
  assert.equal(s.link.lcp.peerAcfc, false);
});

test('nopcomp alone rejects only PFC (ACFC is then acked); noaccomp alone rejects only ACFC', () => {
  const a = scriptedServer({ nopcomp: true });
  a.link.start();
  a.take();
  a.feed(PEER_REQ);
  assert.deepEqual(a.take(), [toHex(hex(`ff 03 c0 21 04 07 00 06  07 02  # Configure-Reject: PFC only`))]);
  a.feed(`ff 03 c0 21 01 08 00 10  01 04 05 78  05 06 4f 2a 61 0c  08 02`);
  assert.deepEqual(a.take(), [toHex(hex(`ff 03 c0 21 02 08 00 10  01 04 05 78  05 06 4f 2a 61 0c  08 02  # Ack with ACFC`))]);
  assert.deepEqual([a.link.lcp.peerPfc, a.link.lcp.peerAcfc], [false, true]);

  const b = scriptedServer({ noaccomp: true });
  b.link.start();
  b.take();
  b.feed(PEER_REQ);
  assert.deepEqual(b.take(), [toHex(hex(`ff 03 c0 21 04 07 00 06  08 02  # Configure-Reject: ACFC only`))]);
  b.feed(`ff 03 c0 21 01 08 00 10  01 04 05 78  05 06 4f 2a 61 0c  07 02`);
  assert.deepEqual(b.take(), [toHex(hex(`ff 03 c0 21 02 08 00 10  01 04 05 78  05 06 4f 2a 61 0c  07 02  # Ack with PFC`))]);
  assert.deepEqual([b.link.lcp.peerPfc, b.link.lcp.peerAcfc], [true, false]);
});

test('default (neither option): the same request is acked verbatim', () => {
  const s = scriptedServer();
  s.link.start();
  s.take();
  s.feed(PEER_REQ);
  assert.deepEqual(s.take(), [toHex(hex(`
    ff 03 c0 21 02 07 00 12  # Configure-Ack id 7
    01 04 05 78  05 06 4f 2a 61 0c  07 02  08 02
  `))]);
});

test('a reject of PFC/ACFC wins over a Nak in the same request (RFC 1661: reject beats nak)', () => {
  const s = scriptedServer({ nopcomp: true, noaccomp: true });
  s.link.start();
  s.take();
  s.feed(`
    ff 03 c0 21 01 09 00 0c  # Configure-Request id 9, length 12
    01 04 00 40              # MRU 64: would be nak'd with 128
    07 02  08 02
  `);
  assert.deepEqual(s.take(), [toHex(hex(`ff 03 c0 21 04 09 00 08  07 02  08 02`))]);
});

/** A link with no auth and no MPPE, LCP open with the given peer options, IPCP up: phase running. */
function running(over: { nopcomp?: boolean; noaccomp?: boolean }, peerOpts: string) {
  const s = scriptedServer({ auth: [], mppe: null, ...over });
  openLcp(s, peerOpts);
  s.feed(`ff 03 80 21 02 01 00 0a  03 06 0a 00 00 01`);
  s.feed(`ff 03 80 21 01 01 00 0a  03 06 0a 00 00 02`);
  assert.equal(s.link.phase, 'running');
  s.take();
  return s;
}

test('link: with nopcomp + noaccomp the peer cannot turn compression on, data goes out with FF 03 00 21', () => {
  // openLcp's Configure-Request carries PFC and ACFC; it is rejected, so the
  // harness's Ack of our request alone opens LCP with neither in force.
  const s = scriptedServer({ auth: [], mppe: null, nopcomp: true, noaccomp: true });
  s.link.start();
  const ourReq = s.out[0];
  s.take();
  s.feed(`ff 03 c0 21 01 01 00 0e  05 06 55 66 77 88  07 02  08 02`);
  assert.deepEqual(s.take(), [toHex(hex(`ff 03 c0 21 04 01 00 08  07 02  08 02`))]);
  s.feed(`ff 03 c0 21 01 02 00 0a  05 06 55 66 77 88`);
  const ack = ourReq.slice();
  ack[4] = 2;
  s.link.input(ack);
  assert.equal(s.link.lcp.fsm.state, 'opened');
  s.feed(`ff 03 80 21 02 01 00 0a  03 06 0a 00 00 01`);
  s.feed(`ff 03 80 21 01 01 00 0a  03 06 0a 00 00 02`);
  assert.equal(s.link.phase, 'running');
  s.take();
  const ip = ipPacket('10.0.0.1', '10.0.0.2', 'nocomp');
  s.link.sendIp(ip);
  assert.deepEqual(s.take(), ['ff030021' + toHex(ip)], 'address/control present, 2-byte protocol');
  // Receiving stays liberal (as pppd and the kernel): a compressed frame is still accepted.
  s.link.input(Uint8Array.from([0x21, ...ip]));
  s.link.input(Uint8Array.from([0xff, 0x03, 0x00, 0x21, ...ip]));
  assert.equal(s.ips.length, 2);
});

test('link: the default keeps compressing once the peer negotiated PFC/ACFC (contrast)', () => {
  const s = running({}, '05 06 55 66 77 88  07 02  08 02');
  const ip = ipPacket('10.0.0.1', '10.0.0.2', 'comp');
  s.link.sendIp(ip);
  assert.deepEqual(s.take(), ['21' + toHex(ip)]);
});

test('link: noaccomp alone → 1-byte protocol but FF 03 kept; nopcomp alone → no FF 03 but 2-byte protocol', () => {
  const ip = ipPacket('10.0.0.1', '10.0.0.2', 'half');
  // The peer asks for PFC only / ACFC only (what the option leaves it).
  const a = running({ noaccomp: true }, '05 06 55 66 77 88  07 02');
  a.link.sendIp(ip);
  assert.deepEqual(a.take(), ['ff0321' + toHex(ip)]);
  const b = running({ nopcomp: true }, '05 06 55 66 77 88  08 02');
  b.link.sendIp(ip);
  assert.deepEqual(b.take(), ['0021' + toHex(ip)]);
});
