// LCP on a server link, byte-exact frames built from RFC 1661/1570/1990/2153.
// Our magic number is 0x11223344 (fixed random source).
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { hex, openLcp, scriptedServer, toHex } from '../helpers/ppp-harness.js';

const OUR_CONFREQ = toHex(hex(`
  ff 03 c0 21       # address, control, LCP
  01 01 00 13       # Configure-Request id 1, length 19
  01 04 05 78       # MRU 1400
  03 05 c2 23 81    # auth CHAP, algorithm 0x81 (MS-CHAPv2)
  05 06 11 22 33 44 # magic
`));

test('our first Configure-Request: MRU 1400, MS-CHAPv2, magic', () => {
  const s = scriptedServer();
  s.link.start();
  assert.deepEqual(s.take(), [OUR_CONFREQ]);
  assert.equal(s.link.phase, 'establish');
});

test('Windows-like request: callback, MRRU, endpoint discriminator rejected, then acked; link proceeds to auth', () => {
  const s = scriptedServer();
  s.link.start();
  s.take();
  s.feed(`
    ff 03 c0 21 01 07 00 22  # Configure-Request id 7, length 34
    01 04 05 78              # MRU 1400
    05 06 4f 2a 61 0c        # magic
    07 02                    # PFC
    08 02                    # ACFC
    0d 03 06                 # callback, operation 6 (CBCP)
    11 04 06 4e              # MRRU 1614
    13 09 01 a1 b2 c3 d4 e5 f6  # endpoint discriminator class 1
  `);
  assert.deepEqual(s.take(), [toHex(hex(`
    ff 03 c0 21 04 07 00 14  # Configure-Reject id 7, length 20
    0d 03 06
    11 04 06 4e
    13 09 01 a1 b2 c3 d4 e5 f6
  `))]);
  s.feed(`
    ff 03 c0 21 01 08 00 12
    01 04 05 78
    05 06 4f 2a 61 0c
    07 02
    08 02
  `);
  assert.deepEqual(s.take(), [toHex(hex(`
    ff 03 c0 21 02 08 00 12  # Configure-Ack id 8: the request verbatim
    01 04 05 78
    05 06 4f 2a 61 0c
    07 02
    08 02
  `))]);
  s.feed(OUR_CONFREQ.replace(/^ff03c0210101/, 'ff03c0210201')); // peer acks ours
  assert.equal(s.link.lcp.fsm.state, 'opened');
  assert.equal(s.link.phase, 'authenticate');
  assert.equal(s.auth.started, true);
  assert.equal(s.link.lcp.peerPfc, true);
  assert.equal(s.link.lcp.peerAcfc, true);
  assert.equal(s.link.lcp.peerMru(), 1400);
});

test('quality protocol, short sequence and unknown options are rejected; ACCM is acked', () => {
  const s = scriptedServer();
  s.link.start();
  s.take();
  s.feed(`
    ff 03 c0 21 01 02 00 16
    02 06 00 00 00 00        # ACCM
    04 08 c0 25 00 00 0b b8  # quality protocol LQR
    12 02                    # short sequence number
    63 02                    # unknown option 99
  `);
  assert.deepEqual(s.take(), [toHex(hex(`ff 03 c0 21 04 02 00 10  04 08 c0 25 00 00 0b b8  12 02  63 02`))]);
  s.feed(`ff 03 c0 21 01 03 00 0a  02 06 00 00 00 00`);
  assert.deepEqual(s.take(), [toHex(hex(`ff 03 c0 21 02 03 00 0a  02 06 00 00 00 00`))]);
});

test('MRU below 128 is nak\'d with 128; the peer\'s magic equal to ours is nak\'d (loop-back)', () => {
  const s = scriptedServer();
  s.link.start();
  s.take();
  s.feed(`ff 03 c0 21 01 04 00 08  01 04 00 40`);
  assert.deepEqual(s.take(), [toHex(hex(`ff 03 c0 21 03 04 00 08  01 04 00 80`))]);
  s.feed(`ff 03 c0 21 01 05 00 0a  05 06 11 22 33 44`);
  const [nak] = s.take();
  assert.match(nak, /^ff03c0210305000a0506/);
  assert.notEqual(nak.slice(-8), '11223344', 'suggests a different magic');
});

test('peer asks us to authenticate (server): rejected', () => {
  const s = scriptedServer();
  s.link.start();
  s.take();
  s.feed(`ff 03 c0 21 01 09 00 09  03 05 c2 23 05`);
  assert.deepEqual(s.take(), [toHex(hex(`ff 03 c0 21 04 09 00 09  03 05 c2 23 05`))]);
});

test('auth Nak: peer suggests an allowed method, then one we do not allow → next, then none left → close', () => {
  const s = scriptedServer({ auth: ['mschapv2', 'mschap', 'chap-md5'] });
  s.link.start();
  s.take();
  // Nak our MS-CHAPv2 suggesting CHAP-MD5 (allowed): we switch to it.
  s.feed(`ff 03 c0 21 03 01 00 09  03 05 c2 23 05`);
  assert.deepEqual(s.take(), [toHex(hex(`ff 03 c0 21 01 02 00 13  01 04 05 78  03 05 c2 23 05  05 06 11 22 33 44`))]);
  // Nak suggesting PAP (not allowed): next untried in our order is MS-CHAP.
  s.feed(`ff 03 c0 21 03 02 00 08  03 04 c0 23`);
  assert.deepEqual(s.take(), [toHex(hex(`ff 03 c0 21 01 03 00 13  01 04 05 78  03 05 c2 23 80  05 06 11 22 33 44`))]);
  // Nak again: nothing left → Terminate-Request, then down with the reason.
  s.feed(`ff 03 c0 21 03 03 00 08  03 04 c0 23`);
  const out = s.take();
  assert.equal(out.length, 2);
  assert.match(out[1], /^ff03c02105/, 'Terminate-Request');
  s.feed(`ff 03 c0 21 06 ${out[1].slice(10, 12)} 00 04`);
  assert.equal(s.downs.length, 1);
  assert.match(s.downs[0], /^no common authentication method/);
});

test('auth option rejected by the peer → link closes: peer refused to authenticate', () => {
  const s = scriptedServer();
  s.link.start();
  s.take();
  s.feed(`ff 03 c0 21 04 01 00 09  03 05 c2 23 81`);
  s.clock.advance(6000); // no Terminate-Ack: max-terminate 2 × 3 s
  assert.equal(s.downs.length, 1);
  assert.match(s.downs[0], /peer refused to authenticate/);
});

test('MRU and magic rejected by the peer: next request without them', () => {
  const s = scriptedServer();
  s.link.start();
  s.take();
  s.feed(`ff 03 c0 21 04 01 00 0e  01 04 05 78  05 06 11 22 33 44`);
  assert.deepEqual(s.take(), [toHex(hex(`ff 03 c0 21 01 02 00 09  03 05 c2 23 81`))]);
  assert.equal(s.link.lcp.ourMru, 1500);
});

test('Configure-Reject naming an option we did not send is dropped', () => {
  const s = scriptedServer();
  s.link.start();
  s.take();
  s.feed(`ff 03 c0 21 04 01 00 06  07 02`);
  assert.deepEqual(s.take(), []);
  assert.equal(s.link.lcp.fsm.stats.dropped, 1);
});

test('Opened: Echo-Request → Echo-Reply with our magic; Discard, Identification, Time-Remaining ignored', () => {
  const s = scriptedServer();
  openLcp(s);
  s.feed(`ff 03 c0 21 09 21 00 0c  55 66 77 88  de ad be ef`);
  assert.deepEqual(s.take(), [toHex(hex(`ff 03 c0 21 0a 21 00 0c  11 22 33 44  de ad be ef`))]);
  s.feed(`ff 03 c0 21 0b 22 00 08  55 66 77 88`);
  s.feed(`ff 03 c0 21 0c 23 00 0c  55 66 77 88  4d 53 52 41`);
  s.feed(`ff 03 c0 21 0d 24 00 0c  55 66 77 88  00 00 0e 10`);
  assert.deepEqual(s.take(), []);
  s.feed(`ff 03 c0 21 09 25 00 08  11 22 33 44`); // our own magic: looped back, no answer
  assert.deepEqual(s.take(), []);
});

test('unknown LCP code → Code-Reject carrying the packet', () => {
  const s = scriptedServer();
  openLcp(s);
  s.feed(`ff 03 c0 21 20 31 00 06  ab cd`);
  assert.deepEqual(s.take(), [toHex(hex(`ff 03 c0 21 07 02 00 0a  20 31 00 06 ab cd`))]);
});

test('IPV6CP and unknown protocols → Protocol-Reject (protocol + packet); nothing before LCP is open', () => {
  const s = scriptedServer();
  s.link.start();
  s.feed(`ff 03 80 57 01 01 00 0e  01 0a 00 00 00 00 00 00 00 01`);
  assert.equal(s.out.length, 1, 'no Protocol-Reject outside Opened (only our ConfReq)');
  openLcp(s);
  s.feed(`ff 03 80 57 01 01 00 0e  01 0a 00 00 00 00 00 00 00 01`);
  assert.deepEqual(s.take(), [toHex(hex(`
    ff 03 c0 21 08 02 00 14   # Protocol-Reject id 2, length 20
    80 57                     # rejected protocol IPV6CP
    01 01 00 0e 01 0a 00 00 00 00 00 00 00 01
  `))]);
  s.feed(`ff 03 12 35 aa`);
  assert.deepEqual(s.take(), [toHex(hex(`ff 03 c0 21 08 03 00 07  12 35 aa`))]);
});

test('Protocol-Reject is truncated to the peer\'s MRU', () => {
  const s = scriptedServer();
  openLcp(s, '01 04 00 80  05 06 55 66 77 88'); // peer MRU 128
  const big = 'ab '.repeat(400);
  s.feed(`ff 03 12 35 ${big}`);
  const [rej] = s.take();
  assert.equal(rej.length / 2, 4 + 128, 'frame header + exactly MRU bytes of LCP');
});

test('LCP echo: interval 10 s, failure 3 → link down after 3 unanswered', () => {
  const s = scriptedServer({ lcpEchoInterval: 10, lcpEchoFailure: 3, authTimeoutMs: 1e9 });
  openLcp(s);
  s.clock.advance(10_000);
  const [req] = s.take();
  assert.match(req, /^ff03c0210902000811223344$/);
  s.feed(`ff 03 c0 21 0a 02 00 08 55 66 77 88`); // a reply resets the count
  assert.equal(s.link.lcp.echoStats.replies, 1);
  s.clock.advance(30_000);
  assert.equal(s.take().length, 3);
  assert.deepEqual(s.downs, []);
  s.clock.advance(10_000);
  assert.deepEqual(s.downs, ['peer not responding to LCP echo (3 echo requests unanswered)']);
  assert.equal(s.clock.pending, 0, 'no timer left after the end');
});

test('peer Terminate-Request: Terminate-Ack then onDown once', () => {
  const s = scriptedServer();
  openLcp(s);
  s.feed(`ff 03 c0 21 05 44 00 0a  55 73 65 72 20 72`);
  assert.deepEqual(s.take(), [toHex(hex(`ff 03 c0 21 06 44 00 04`))]);
  assert.deepEqual(s.downs, ['peer terminated the link (LCP Terminate-Request: User r)']);
  s.clock.advance(60_000);
  s.feed(`ff 03 c0 21 05 45 00 04`);
  assert.equal(s.downs.length, 1);
  assert.deepEqual(s.take(), []);
});

test('no answer at all: LCP gives up after 10 requests with a reason naming GRE', () => {
  const s = scriptedServer();
  s.link.start();
  s.clock.advance(30_000);
  assert.equal(s.take().length, 10);
  assert.equal(s.downs.length, 1);
  assert.match(s.downs[0], /timeout sending Config-Requests.*GRE/);
});

test('frames without FF 03 and with a 1-byte protocol field are accepted', () => {
  const s = scriptedServer();
  openLcp(s);
  s.feed(`c0 21 09 21 00 08  55 66 77 88`); // no address/control
  assert.equal(s.take().length, 1);
  s.feed(`ff 03 c0`); // truncated protocol
  s.feed(`ff 03`);
  s.feed(`ff 03 c0 20 09 21 00 08 55 66 77 88`); // even last protocol octet: invalid
  assert.deepEqual(s.take(), []);
  assert.equal(s.link.stats.dropped, 3);
});
