// What a benchmark client session (bench/loadgen: userspace PPP over our GRE;
// bench/kclient: PPP control in userspace, data through the kernel) does the
// same way whatever carries its data: the set-up promise bounded by one timer,
// the client PPP link with a watched authenticator, the ending of a call that
// dies on its own, and the pptp-linux style hang-up (LCP Terminate, then
// Call-Clear-Request and the server's CDN, each bounded).
import type { Logger } from 'pino';
import type { ClientCall, ClientConnection } from '../../src/control/client-connection.js';
import { createPeerAuthenticator } from '../../src/ppp/auth/index.js';
import { PppClientLink, type ClientLinkOptions } from '../../src/ppp/link.js';
import type { PppPolicy } from '../../src/ppp/types.js';
import type { Clock, Timer } from '../../src/util/clock.js';
import type { RandomSource } from '../../src/util/random.js';

export type ClientSessionState = 'new' | 'calling' | 'negotiating' | 'up' | 'closing' | 'done';

/** What every bench client session takes from its run. */
export interface ClientSessionBase {
  clock: Clock;
  random: RandomSource;
  log: Logger;
  policy: PppPolicy;
}

/** The authenticator's verdict, as the link's peer authenticator reports it. */
export type PeerVerdict = { ok: true } | { ok: false; reason: string };

/** `Up` is what open() resolves with once the link is up. */
export abstract class BenchClientSession<Up> {
  state: ClientSessionState = 'new';
  call: ClientCall | undefined;

  protected ppp: PppClientLink | undefined;
  protected conn: ClientConnection | undefined;
  /** The server ended the call (CDN, StopCCRQ, TCP gone): never clear it. */
  protected callGone = false;
  private settle: { resolve(v: Up): void; reject(e: Error): void } | undefined;
  private setupTimer: Timer | undefined;
  /** close() waits on these: the link's end, the server's CDN. */
  private linkDead: (() => void) | undefined;
  private callEnded: (() => void) | undefined;

  constructor(
    readonly index: number,
    protected readonly base: ClientSessionBase,
    private readonly credentials: { user: string; password: string },
  ) {}

  /** Frees what carries the call's data (GRE registration, kernel call). Idempotent. */
  protected abstract release(): void;
  /** The error a failed set-up rejects open() with. */
  protected abstract setupError(reason: string): Error;
  /** Notes why the link went down; called first in linkDown (state still as it was). */
  protected abstract noteLinkDown(reason: string): void;
  /** A link that was up ended on its own (already released); default: nothing more. */
  protected droppedWhileUp(_reason: string): void {}

  /** True while open() waits for the link to come up. */
  protected get settingUp(): boolean {
    return this.settle !== undefined;
  }

  /**
   * Enters negotiation: the promise open() returns, settled by setupDone() or
   * fail(), and a timer so it is settled by `t0 + timeoutMs` at the latest.
   */
  protected beginSetup(t0: number, timeoutMs: number, timeoutReason: () => string): Promise<Up> {
    const clock = this.base.clock;
    this.state = 'negotiating';
    const done = new Promise<Up>((resolve, reject) => (this.settle = { resolve, reject }));
    this.setupTimer = clock.setTimer(Math.max(1, timeoutMs - (clock.now() - t0)), () => {
      this.setupTimer = undefined;
      this.fail(timeoutReason());
    });
    return done;
  }

  /** The link is up: open() resolves with `v`. */
  protected setupDone(v: Up): void {
    this.state = 'up';
    this.stopSetupTimer();
    const s = this.settle;
    this.settle = undefined;
    s?.resolve(v);
  }

  /** Set-up failed: everything goes (call cleared unless the server ended it) and open() rejects. */
  protected fail(reason: string): void {
    const s = this.settle;
    if (!s) return;
    this.settle = undefined;
    this.stopSetupTimer();
    this.state = 'done';
    if (this.ppp && this.ppp.phase !== 'dead') this.ppp.lowerDown(reason);
    this.clearOurCall();
    this.release();
    s.reject(this.setupError(reason));
  }

  /**
   * The client PPP link (not started). `verdict` sees the authenticator's
   * outcome just before the link does.
   */
  protected createLink(
    dataMode: ClientLinkOptions['dataMode'],
    verdict: (out: PeerVerdict) => void,
    hooks: Omit<ClientLinkOptions['hooks'], 'onDown'>,
  ): PppClientLink {
    const b = this.base;
    this.ppp = new PppClientLink({
      policy: b.policy,
      credentials: this.credentials,
      clock: b.clock,
      random: b.random,
      log: b.log,
      dataMode,
      factories: {
        createPeerAuthenticator: (method, actx) => createPeerAuthenticator(method, {
          ...actx,
          done: (out) => {
            verdict(out);
            actx.done(out);
          },
        }),
      },
      hooks: { ...hooks, onDown: (r) => this.linkDown(r) },
    });
    return this.ppp;
  }

  /** The link's onDown. */
  private linkDown(reason: string): void {
    this.noteLinkDown(reason);
    const dead = this.linkDead;
    this.linkDead = undefined;
    dead?.();
    if (this.settle) return this.fail(`ppp: ${reason}`);
    if (this.state === 'up') {
      // Ended on its own (peer's Terminate, echo failure): clear the call too.
      this.state = 'done';
      this.clearOurCall();
      this.release();
      this.droppedWhileUp(reason);
    }
  }

  /** For the call's onEnd: marks the call gone; returns close()'s waiter for the CDN, to call last. */
  protected callGoneWaiter(): (() => void) | undefined {
    this.callGone = true;
    const cb = this.callEnded;
    this.callEnded = undefined;
    return cb;
  }

  private clearOurCall(): void {
    if (this.call && !this.callGone) this.conn?.clearCall(this.call.callId);
  }

  private stopSetupTimer(): void {
    this.setupTimer?.cancel();
    this.setupTimer = undefined;
  }

  /**
   * Hangs up as pppd + pptp-linux do: LCP Terminate (`reason`), then
   * Call-Clear-Request and the server's CDN, each bounded by `timeoutMs`;
   * then release().
   */
  protected async hangUp(timeoutMs: number, reason: string): Promise<void> {
    if (this.state === 'done' || this.state === 'closing') return;
    this.state = 'closing';
    const clock = this.base.clock;
    const link = this.ppp;
    if (link && link.phase !== 'dead') {
      await new Promise<void>((resolve) => {
        const t = clock.setTimer(timeoutMs, resolve);
        const prev = this.linkDead;
        this.linkDead = () => {
          t.cancel();
          prev?.();
          resolve();
        };
        link.close(reason);
      });
    }
    const call = this.call;
    const conn = this.conn;
    if (call && !this.callGone && conn) {
      await new Promise<void>((resolve) => {
        const t = clock.setTimer(timeoutMs, () => {
          this.callEnded = undefined;
          resolve();
        });
        this.callEnded = () => {
          t.cancel();
          resolve();
        };
        if (!conn.clearCall(call.callId)) {
          t.cancel();
          this.callEnded = undefined;
          resolve();
        }
      });
    }
    this.release();
    this.state = 'done';
  }
}
