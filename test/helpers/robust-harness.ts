// The session harness (real ControlConnections, real PPP engines, fake
// datapath, fake clock) with the robustness knobs of the manager switched on:
// an AuthThrottle and the duplicate-login policy. Every new datapath call gets
// a client-side PppLink (real MS-CHAPv2 + MPPE) with the credentials the test
// queued for it.
import assert from 'node:assert/strict';
import { AuthThrottle, type AuthThrottleConfig } from '../../src/auth/throttle.js';
import type { FakeDatapathCall } from '../../src/datapath/fake/index.js';
import { PppClientLink } from '../../src/ppp/link.js';
import type { LinkUpInfo } from '../../src/ppp/types.js';
import { SessionManager } from '../../src/session/manager.js';
import { silentLogger } from '../../src/util/log.js';
import { seededRandom } from '../../src/util/random.js';
import { POLICY, SessionHarness, tableBackend, type TestConnection } from './session-harness.js';

export interface RobustClient {
  link: PppClientLink;
  call: FakeDatapathCall;
  user: string;
  up?: LinkUpInfo;
  down?: string;
  /** CHAP packets (code byte) the client received: 3 success, 4 failure. */
  chapResults: number[];
}

export interface RobustOptions {
  throttle?: Partial<AuthThrottleConfig> | false;
  maxLoginsPerUser?: number;
  duplicateLogin?: 'replace' | 'refuse';
  poolSize?: number;
  connections?: number;
}

export class RobustHarness extends SessionHarness {
  readonly throttle: AuthThrottle | undefined;
  readonly clients: RobustClient[] = [];
  /** Credentials for the next calls, in order; when empty, alice's right password. */
  readonly creds: Array<[string, string]> = [];
  private n = 0;

  constructor(o: RobustOptions = {}) {
    super({ poolSize: o.poolSize ?? 8, connections: o.connections ?? 100 });
    this.throttle = o.throttle === false ? undefined : new AuthThrottle(o.throttle ?? {}, this.clock, this.log);
    // Same parts as the base harness, plus the robustness options.
    (this as { manager: SessionManager }).manager = new SessionManager({
      config: {
        policy: POLICY,
        connections: o.connections ?? 100,
        ...(o.maxLoginsPerUser !== undefined ? { maxLoginsPerUser: o.maxLoginsPerUser } : {}),
        ...(o.duplicateLogin !== undefined ? { duplicateLogin: o.duplicateLogin } : {}),
      },
      pool: this.pool,
      backend: tableBackend({ alice: 'alicePass', bob: 'bobPass' }),
      datapath: this.datapath,
      clock: this.clock,
      random: seededRandom(7),
      log: this.log,
      wallClock: () => 1_700_000_000_000,
      scripts: { ipUp: async (s) => void this.ipUp.push(s), ipDown: async (s) => void this.ipDown.push(s) },
      ...(this.throttle ? { throttle: this.throttle } : {}),
    });
    this.datapath.onOpen = (call) => {
      const [user, password] = this.creds.shift() ?? ['alice', 'alicePass'];
      this.n++;
      const c: RobustClient = { call, user, chapResults: [], link: undefined as unknown as PppClientLink };
      c.link = new PppClientLink({
        policy: { ...POLICY, dns: [] },
        credentials: { user, password },
        clock: this.clock,
        random: seededRandom(1000 + this.n),
        log: silentLogger,
        dataMode: 'userspace',
        hooks: {
          send: (f) => call.fromClient(f),
          onUp: (info) => (c.up = info),
          onDown: (r) => (c.down = r),
        },
      });
      call.toClient = (f) => {
        // FF 03 C2 23 code …: note CHAP Success/Failure as they reach the client.
        if (f.length > 4 && f[0] === 0xff && f[2] === 0xc2 && f[3] === 0x23 && (f[4] === 3 || f[4] === 4)) c.chapResults.push(f[4]);
        c.link.input(f);
      };
      this.clients.push(c);
    };
  }

  /** SCCRQ (if needed) + OCRQ; the client's PPP starts on the accepted OCRP (as pptp-linux does). */
  dial(conn: TestConnection, peerCallId: number, user = 'alice', password = 'alicePass'): RobustClient {
    this.creds.push([user, password]);
    const r = conn.call(peerCallId);
    assert.equal(r.resultCode, 1, 'OCRP connected');
    const c = this.clients.at(-1)!;
    c.link.start();
    return c;
  }

  /** Runs promise chains until cond holds, without moving the fake clock. */
  async until(cond: () => boolean, what: string, rounds = 300): Promise<void> {
    for (let i = 0; i < rounds; i++) {
      if (cond()) return;
      await this.settle(1);
    }
    assert.fail(`never happened: ${what}`);
  }

  /** Moves the fake clock in steps, letting promise chains run between them. */
  async advance(ms: number, step = 250): Promise<void> {
    for (let t = 0; t < ms; t += step) {
      this.clock.advance(Math.min(step, ms - t));
      await this.settle(3);
    }
  }
}
