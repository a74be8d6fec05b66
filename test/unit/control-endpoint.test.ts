// The input/output/echo paths both roles share (src/control/endpoint.ts), run
// once for the server (ControlConnection) and once for the client
// (ClientConnection) with the same byte-exact wire fixtures, so a change in
// the shared code that breaks either role fails here.
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { ControlConnection } from '../../src/control/connection.js';
import { ClientConnection } from '../../src/control/client-connection.js';
import { CallIdAllocator } from '../../src/control/call-ids.js';
import { silentLogger } from '../../src/util/log.js';
import { FakeClock } from '../helpers/fake-clock.js';
import { fixture } from '../helpers/pptp-fixtures.js';
import { hex } from '../helpers/pptp-hex.js';

const HDR = '0001 1a2b3c4d'; // control message, magic cookie
const INTERVAL = 60_000;
const TIMEOUT = 5_000;

/** Peer's Echo-Request, identifier 0x12345678 (fixture), and our answer to it. */
const ECHO_RQ = fixture('EchoRequest').bytes;
const ECHO_RP = fixture('EchoReply').bytes;
/** Our own Echo-Request number n (identifiers count from 1). */
const ourEcho = (n: number): Buffer => hex(`
  0010 ${HDR} 0005 0000   # length 16, Echo-Request
  ${n.toString(16).padStart(8, '0')}   # identifier
`);
/** The peer's reply to our echo number n. */
const replyTo = (n: number): Buffer => hex(`
  0014 ${HDR} 0006 0000   # length 20, Echo-Reply
  ${n.toString(16).padStart(8, '0')}   # identifier echoed
  01 00 0000              # result 1 (ok), error 0, reserved
`);
const STOP_RQ = fixture('StopCCRQ').bytes; // reason 3
const STOP_RP = fixture('StopCCRP').bytes;

interface Endpoint {
  readonly state: string;
  readonly stats: { messagesIn: number; messagesOut: number; errors: number };
  readonly buffered: number;
  input(bytes: Uint8Array): void;
}

interface Rig {
  conn: Endpoint;
  clock: FakeClock;
  /** Bytes sent after the connection was established. */
  out: Buffer[];
  closes: string[];
  /** Runs inside the next send() (once), e.g. to re-enter input(). */
  onSend?: () => void;
  /** The next send() throws. */
  failSend: boolean;
}

interface Role {
  name: string;
  /** The close reason a StopCCRQ from the peer gives. */
  stopReason: string;
  make(): Rig;
}

function rig(clock: FakeClock): Rig {
  return { conn: undefined as unknown as Endpoint, clock, out: [], closes: [], failSend: false };
}

function sender(r: Rig) {
  return (bytes: Uint8Array): void => {
    if (r.failSend) throw new Error('EPIPE');
    r.out.push(Buffer.from(bytes));
    const f = r.onSend;
    r.onSend = undefined;
    f?.();
  };
}

const roles: Role[] = [
  {
    name: 'server (ControlConnection)',
    stopReason: 'StopCCRQ from peer (reason 3)',
    make() {
      const r = rig(new FakeClock(1_000));
      const conn = new ControlConnection({
        clock: r.clock, log: silentLogger, peer: '192.0.2.7:40000', hostName: 'pptpd', vendor: 'pptpd-ts',
        stimeoutMs: 10_000, echoIntervalMs: INTERVAL, echoTimeoutMs: TIMEOUT, callIds: new CallIdAllocator(),
        send: sender(r), close: (reason) => void r.closes.push(reason),
        onCall: () => ({ accept: true }), onCallCleared: () => {},
      });
      r.conn = conn;
      conn.input(fixture('SCCRQ').bytes);
      assert.equal(conn.state, 'established');
      r.out.length = 0;
      return r;
    },
  },
  {
    name: 'client (ClientConnection)',
    stopReason: 'StopCCRQ from server (reason 3)',
    make() {
      const r = rig(new FakeClock(1_000));
      const conn = new ClientConnection({
        clock: r.clock, log: silentLogger, echoIntervalMs: INTERVAL, echoTimeoutMs: TIMEOUT,
        send: sender(r), close: (reason) => void r.closes.push(reason),
      });
      r.conn = conn;
      void conn.start();
      conn.input(fixture('SCCRP').bytes);
      assert.equal(conn.state, 'established');
      r.out.length = 0;
      return r;
    },
  },
];

for (const role of roles) {
  describe(`shared control path: ${role.name}`, () => {
    it('answers an Echo-Request byte for byte (same identifier, result 1) and stays up', () => {
      const r = role.make();
      const before = { ...r.conn.stats };
      r.conn.input(ECHO_RQ);
      assert.deepEqual(r.out, [ECHO_RP]);
      assert.equal(r.conn.state, 'established');
      assert.equal(r.conn.stats.messagesIn, before.messagesIn + 1);
      assert.equal(r.conn.stats.messagesOut, before.messagesOut + 1);
      assert.deepEqual(r.closes, []);
    });

    it('messages split byte by byte and several in one chunk are all handled, in order', () => {
      const r = role.make();
      for (const b of ECHO_RQ) r.conn.input(Uint8Array.of(b));
      assert.equal(r.conn.buffered, 0);
      r.conn.input(Buffer.concat([ECHO_RQ, ECHO_RQ]));
      assert.deepEqual(r.out, [ECHO_RP, ECHO_RP, ECHO_RP]);
    });

    it('silence: our Echo-Request after the interval; the matching reply keeps the link; none closes it', () => {
      const r = role.make();
      r.clock.advance(INTERVAL - 1);
      assert.deepEqual(r.out, []);
      r.clock.advance(1);
      assert.deepEqual(r.out, [ourEcho(1)]);
      r.clock.advance(TIMEOUT - 1);
      r.conn.input(replyTo(1));
      r.clock.advance(TIMEOUT); // the old deadline passes: nothing happens
      assert.equal(r.conn.state, 'established');
      assert.deepEqual(r.closes, []);
      // The reply was the last byte received: the next probe comes an interval after it.
      r.clock.advance(INTERVAL - TIMEOUT - 1);
      assert.equal(r.out.length, 1);
      r.clock.advance(1);
      assert.deepEqual(r.out, [ourEcho(1), ourEcho(2)]);
      r.clock.advance(TIMEOUT);
      assert.equal(r.conn.state, 'closed');
      assert.deepEqual(r.closes, ['echo timeout']);
    });

    it('a reply with the wrong identifier does not count: the probe still times out', () => {
      const r = role.make();
      r.clock.advance(INTERVAL);
      assert.deepEqual(r.out, [ourEcho(1)]);
      r.conn.input(replyTo(7));
      assert.equal(r.conn.stats.errors, 0, 'a stray reply is not an error');
      r.clock.advance(TIMEOUT);
      assert.deepEqual(r.closes, ['echo timeout']);
    });

    it('a partial message counts as activity and postpones the probe', () => {
      const r = role.make();
      r.clock.advance(INTERVAL - 10);
      r.conn.input(ECHO_RQ.subarray(0, 3));
      r.clock.advance(10);
      assert.deepEqual(r.out, []);
      r.clock.advance(INTERVAL - 10);
      assert.deepEqual(r.out, [ourEcho(1)]);
    });

    it('an impossible length closes with ERR_PPTP_LENGTH; later input is ignored', () => {
      const r = role.make();
      r.conn.input(hex(`0011 ${HDR} 0005 0000 12345678 00   # length 17: no PPTP message has it`));
      assert.equal(r.conn.state, 'closed');
      assert.deepEqual(r.closes, ['protocol error ERR_PPTP_LENGTH']);
      assert.equal(r.conn.stats.errors, 1);
      r.conn.input(ECHO_RQ);
      assert.deepEqual(r.out, []);
      assert.equal(r.conn.stats.errors, 1);
    });

    it('a well-framed message with a bad magic cookie closes with ERR_PPTP_MAGIC', () => {
      const r = role.make();
      const inBefore = r.conn.stats.messagesIn;
      r.conn.input(hex(`
        0010 0001 1a2b3c4e   # length 16, control, magic cookie off by one
        0005 0000 12345678   # Echo-Request
      `));
      assert.deepEqual(r.closes, ['protocol error ERR_PPTP_MAGIC']);
      assert.equal(r.conn.stats.messagesIn, inBefore, 'an undecodable message is not counted in');
      assert.deepEqual(r.out, []);
    });

    it('a send() that throws closes the connection once', () => {
      const r = role.make();
      r.failSend = true;
      r.conn.input(ECHO_RQ);
      assert.equal(r.conn.state, 'closed');
      assert.deepEqual(r.closes, ['send failed']);
      assert.equal(r.conn.stats.errors, 1);
      r.failSend = false;
      r.clock.advance(INTERVAL * 2);
      assert.deepEqual(r.out, [], 'no timer survives the close');
      assert.equal(r.clock.pending, 0);
    });

    it('StopCCRQ from the peer: StopCCRP byte for byte, then closed', () => {
      const r = role.make();
      r.conn.input(STOP_RQ);
      assert.deepEqual(r.out, [STOP_RP]);
      assert.equal(r.conn.state, 'closed');
      assert.deepEqual(r.closes, [role.stopReason]);
      assert.equal(r.clock.pending, 0);
    });

    it('input() re-entered from send() is processed after the current chunk, in order', () => {
      const r = role.make();
      const second = hex(`0010 ${HDR} 0005 0000 00000002   # Echo-Request, identifier 2`);
      r.onSend = () => r.conn.input(second);
      r.conn.input(Buffer.concat([ECHO_RQ, ECHO_RQ]));
      assert.deepEqual(r.out, [
        ECHO_RP,
        ECHO_RP, // the rest of the first chunk first
        hex(`0014 ${HDR} 0006 0000 00000002 01 00 0000   # then the re-entered one`),
      ]);
    });
  });
}
