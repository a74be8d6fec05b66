// The RFC 1661 automaton: every state × event of the section 4.1 table
// (next state and the observable actions), timers with a fake clock, the
// restart/failure counters, and malformed-packet accounting.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { Fsm, FSM_EVENTS, FSM_STATES, type FsmEvent, type FsmProtocol, type FsmState } from '../../src/ppp/fsm.js';
import { CONFACK, CONFNAK, CONFREJ } from '../../src/ppp/constants.js';
import type { PacketWriter } from '../../src/ppp/options.js';
import { FakeClock } from '../helpers/fake-clock.js';

// RFC 1661 §4.1, transcribed by state (columns) for each event: what must be
// observed. Observables: up/down/starting/finished callbacks and packets
// sent (scr=ConfReq 1, sca=ConfAck 2, scn=ConfNak 3, str=TermReq 5,
// sta=TermAck 6, scj=CodeRej 7, ser=echo reply via the protocol hook).
// irc/zrc are seen through the restart timer (checked separately).
const S = ['initial', 'starting', 'closed', 'stopped', 'closing', 'stopping', 'reqsent', 'ackrcvd', 'acksent', 'opened'];
const RFC: Record<FsmEvent, string[]> = {
  'Up':   ['2', 'irc,scr/6', '-', '-', '-', '-', '-', '-', '-', '-'],
  'Down': ['-', '-', '0', 'tls/1', '0', '1', '1', '1', '1', 'tld/1'],
  'Open': ['tls/1', '1', 'irc,scr/6', '3', '5', '5', '6', '7', '8', '9'],
  'Close': ['0', 'tlf/0', '2', '2', '4', '4', 'irc,str/4', 'irc,str/4', 'irc,str/4', 'tld,irc,str/4'],
  'TO+':  ['-', '-', '-', '-', 'str/4', 'str/5', 'scr/6', 'scr/6', 'scr/8', '-'],
  'TO-':  ['-', '-', '-', '-', 'tlf/2', 'tlf/3', 'tlf/3', 'tlf/3', 'tlf/3', '-'],
  'RCR+': ['-', '-', 'sta/2', 'irc,scr,sca/8', '4', '5', 'sca/8', 'sca,tlu/9', 'sca/8', 'tld,scr,sca/8'],
  'RCR-': ['-', '-', 'sta/2', 'irc,scr,scn/6', '4', '5', 'scn/6', 'scn/7', 'scn/6', 'tld,scr,scn/6'],
  'RCA':  ['-', '-', 'sta/2', 'sta/3', '4', '5', 'irc/7', 'scr/6', 'irc,tlu/9', 'tld,scr/6'],
  'RCN':  ['-', '-', 'sta/2', 'sta/3', '4', '5', 'irc,scr/6', 'scr/6', 'irc,scr/8', 'tld,scr/6'],
  'RTR':  ['-', '-', 'sta/2', 'sta/3', 'sta/4', 'sta/5', 'sta/6', 'sta/6', 'sta/6', 'tld,zrc,sta/5'],
  'RTA':  ['-', '-', '2', '3', 'tlf/2', 'tlf/3', '6', '6', '8', 'tld,scr/6'],
  'RUC':  ['-', '-', 'scj/2', 'scj/3', 'scj/4', 'scj/5', 'scj/6', 'scj/7', 'scj/8', 'scj/9'],
  'RXJ+': ['-', '-', '2', '3', '4', '5', '6', '6', '8', '9'],
  'RXJ-': ['-', '-', 'tlf/2', 'tlf/3', 'tlf/2', 'tlf/3', 'tlf/3', 'tlf/3', 'tlf/3', 'tld,irc,str/5'],
  'RXR':  ['-', '-', '2', '3', '4', '5', '6', '7', '8', 'ser/9'],
};
const OBSERVABLE: Record<string, string | null> = {
  tlu: 'up', tld: 'down', tls: 'starting', tlf: 'finished', irc: null, zrc: null,
  scr: 'tx1', sca: 'tx2', scn: 'tx3', str: 'tx5', sta: 'tx6', scj: 'tx7', ser: 'echo',
};

class Recorder implements FsmProtocol {
  readonly name = 'TEST';
  log: string[] = [];
  verdict = CONFACK;
  resetci() {}
  addci(w: PacketWriter) { w.opt16(1, 1500); }
  nakci() { return true; }
  rejci() { return true; }
  reqci(_b: Uint8Array, _o: number, _e: number, rejectIfDisagree: boolean, reply: PacketWriter) {
    reply.opt16(1, 1400);
    return this.verdict === CONFNAK && rejectIfDisagree ? CONFREJ : this.verdict;
  }
  up() { this.log.push('up'); }
  down() { this.log.push('down'); }
  starting() { this.log.push('starting'); }
  finished() { this.log.push('finished'); }
  extcode(code: number): FsmEvent { return code === 9 ? 'RXR' : 'RUC'; }
  rxr() { this.log.push('echo'); }
}

function make(cfg = { restartMs: 3000, maxConfigure: 10, maxTerminate: 2, maxFailure: 5 }) {
  const clock = new FakeClock();
  const proto = new Recorder();
  const sent: Uint8Array[] = [];
  const fsm = new Fsm(0xc021, proto, (p) => { sent.push(p); proto.log.push(`tx${p[0]}`); }, clock, cfg);
  return { clock, proto, sent, fsm };
}

const pkt = (code: number, id: number, data: number[] = []) =>
  Uint8Array.from([code, id, 0, 4 + data.length, ...data]);

/** Delivers the event the way it happens for real (a packet where one exists). */
function deliver(fsm: Fsm, proto: Recorder, ev: FsmEvent): void {
  switch (ev) {
    case 'Up': return fsm.up();
    case 'Down': return fsm.down();
    case 'Open': return fsm.open();
    case 'Close': return fsm.close('bye');
    case 'RCR+': proto.verdict = CONFACK; return fsm.input(pkt(1, 7, [1, 4, 5, 0x78]));
    case 'RCR-': proto.verdict = CONFNAK; return fsm.input(pkt(1, 7, [1, 4, 5, 0x78]));
    case 'RTR': return fsm.input(pkt(5, 7));
    case 'RTA': return fsm.input(pkt(6, 7));
    case 'RUC': return fsm.input(pkt(0x42, 7));
    case 'RXJ+': return fsm.input(pkt(7, 7, [9, 1, 0, 4])); // Code-Reject of an Echo-Request
    case 'RXJ-': return fsm.input(pkt(7, 7, [1, 1, 0, 4])); // Code-Reject of a Configure-Request
    case 'RXR': return fsm.input(pkt(9, 7, [0, 0, 0, 0]));
    default: return fsm.fire(ev); // TO+, TO-, RCA, RCN: no packet context needed
  }
}

for (const ev of FSM_EVENTS) {
  test(`RFC 1661 table: event ${ev} in every state`, () => {
    FSM_STATES.forEach((state, col) => {
      const { fsm, proto } = make();
      fsm.setStateForTest(state);
      const cell = RFC[ev][col];
      deliver(fsm, proto, ev);
      if (cell === '-') {
        assert.equal(fsm.state, state, `${ev} in ${state}: no change`);
        assert.deepEqual(proto.log, [], `${ev} in ${state}: no action`);
        return;
      }
      const [acts, next] = cell.includes('/') ? cell.split('/') : ['', cell];
      const expected = acts ? acts.split(',').map((a) => OBSERVABLE[a]).filter((x): x is string => x !== null) : [];
      assert.equal(fsm.state, S[Number(next)], `${ev} in ${state}: next state`);
      assert.deepEqual(proto.log, expected, `${ev} in ${state}: actions`);
      const timed = ['closing', 'stopping', 'reqsent', 'ackrcvd', 'acksent'].includes(fsm.state);
      assert.equal(fsm.timerRunning, timed, `${ev} in ${state}: restart timer ${timed ? 'running' : 'stopped'}`);
    });
  });
}

test('max-configure: 10 Configure-Requests 3 s apart, then This-Layer-Finished in Stopped', () => {
  const { fsm, proto, clock, sent } = make();
  fsm.up();
  fsm.open();
  assert.equal(sent.length, 1);
  for (let i = 2; i <= 10; i++) {
    clock.advance(2999);
    assert.equal(sent.length, i - 1, 'nothing before 3 s');
    clock.advance(1);
    assert.equal(sent.length, i);
  }
  // Retransmissions keep the identifier.
  assert.ok(sent.every((p) => p[0] === 1 && p[1] === sent[0][1]));
  clock.advance(3000);
  assert.equal(sent.length, 10);
  assert.equal(fsm.state, 'stopped');
  assert.equal(fsm.finishCause, 'timeout');
  assert.deepEqual(proto.log.filter((x) => x === 'finished'), ['finished']);
  assert.equal(clock.pending, 0, 'no timer left');
});

test('max-terminate: 2 Terminate-Requests, then finished in Closed', () => {
  const { fsm, proto, clock, sent } = make();
  fsm.setStateForTest('opened');
  fsm.close('admin');
  assert.equal(fsm.state, 'closing');
  assert.deepEqual(proto.log, ['down', 'tx5']);
  assert.deepEqual([...sent[0].subarray(4)], [...Buffer.from('admin')], 'reason text in the Terminate-Request');
  clock.advance(3000);
  assert.equal(sent.filter((p) => p[0] === 5).length, 2);
  assert.equal(fsm.state, 'closing');
  clock.advance(3000);
  assert.equal(fsm.state, 'closed');
  assert.equal(proto.log.at(-1), 'finished');
  assert.equal(clock.pending, 0);
});

test('Terminate-Ack ends Closing at once', () => {
  const { fsm, proto, clock } = make();
  fsm.setStateForTest('opened');
  fsm.close('x');
  fsm.input(pkt(6, 1));
  assert.equal(fsm.state, 'closed');
  assert.equal(proto.log.at(-1), 'finished');
  assert.equal(clock.pending, 0);
});

test('peer Terminate-Request in Opened: Terminate-Ack, Stopping, finished after one restart period (zrc)', () => {
  const { fsm, proto, clock, sent } = make();
  fsm.setStateForTest('opened');
  fsm.input(Uint8Array.from([5, 0x33, 0, 7, 0x62, 0x79, 0x65]));
  assert.equal(fsm.peerTermReason, 'bye');
  assert.equal(sent[0][0], 6);
  assert.equal(sent[0][1], 0x33, 'Terminate-Ack echoes the identifier');
  assert.equal(fsm.state, 'stopping');
  clock.advance(3000);
  assert.equal(fsm.state, 'stopped');
  assert.deepEqual(proto.log, ['down', 'tx6', 'finished']);
});

test('max-failure: after 5 Configure-Naks the 6th answer is a Configure-Reject', () => {
  const { fsm, proto, sent } = make();
  fsm.up();
  fsm.open();
  proto.verdict = CONFNAK;
  for (let i = 0; i < 7; i++) fsm.input(pkt(1, 20 + i, [1, 4, 5, 0x78]));
  const replies = sent.filter((p) => p[0] !== 1).map((p) => p[0]);
  assert.deepEqual(replies, [3, 3, 3, 3, 3, 4, 4]);
  assert.equal(fsm.stats.naksSent, 7);
});

test('Configure-Ack: wrong id, wrong options and duplicates are dropped and counted', () => {
  const { fsm, sent } = make();
  fsm.up();
  fsm.open();
  const req = sent[0];
  const id = req[1];
  fsm.input(Uint8Array.from([2, (id + 1) & 0xff, 0, 8, 1, 4, 5, 0xdc])); // wrong id
  fsm.input(Uint8Array.from([2, id, 0, 8, 1, 4, 5, 0xdd])); // options differ from what we sent
  assert.equal(fsm.state, 'reqsent');
  assert.equal(fsm.stats.dropped, 2);
  const ack = req.slice();
  ack[0] = 2;
  fsm.input(ack);
  assert.equal(fsm.state, 'ackrcvd');
  fsm.input(ack); // duplicate
  assert.equal(fsm.state, 'ackrcvd');
  assert.equal(fsm.stats.dropped, 3);
});

test('malformed packets: short, length beyond buffer, length < 4, bad option list in a Nak', () => {
  const { fsm, sent } = make();
  fsm.up();
  fsm.open();
  const id = sent[0][1];
  fsm.input(Uint8Array.from([1, 1, 0]));
  fsm.input(Uint8Array.from([1, 1, 0, 9, 1, 4]));
  fsm.input(Uint8Array.from([1, 1, 0, 3]));
  fsm.input(Uint8Array.from([3, id, 0, 7, 1, 9, 0])); // option length 9 runs past the packet
  fsm.input(Uint8Array.from([7, 1, 0, 4])); // Code-Reject without the rejected packet
  assert.equal(fsm.stats.dropped, 5);
  assert.equal(fsm.state, 'reqsent');
  assert.equal(fsm.stats.rx, 5);
});

test('padding after the length field is ignored', () => {
  const { fsm, proto, sent } = make();
  fsm.up();
  fsm.open();
  proto.verdict = CONFACK;
  fsm.input(Uint8Array.from([1, 9, 0, 8, 1, 4, 5, 0x78, 0xee, 0xee]));
  const ack = sent.at(-1)!;
  assert.equal(ack[0], 2);
  assert.equal((ack[2] << 8) | ack[3], 8);
});

test('Code-Reject of an unknown code echoes the packet (bounded)', () => {
  const { fsm, sent } = make();
  fsm.setStateForTest('opened');
  fsm.input(Uint8Array.from([0x42, 5, 0, 6, 0xaa, 0xbb]));
  const rej = sent[0];
  assert.deepEqual([...rej], [7, rej[1], 0, 10, 0x42, 5, 0, 6, 0xaa, 0xbb]);
});

test('packets in Initial/Starting are discarded', () => {
  const { fsm, sent } = make();
  fsm.input(pkt(1, 1, [1, 4, 5, 0x78]));
  fsm.open();
  fsm.input(pkt(1, 1, [1, 4, 5, 0x78]));
  assert.equal(sent.length, 0);
  assert.equal(fsm.stats.dropped, 2);
  assert.equal(fsm.state, 'starting');
});
