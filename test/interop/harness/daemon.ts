// Runs OUR daemon inside a TestNet's namespace with configuration files at
// their real paths: `ip netns exec` bind-mounts /etc/netns/NS/<entry> over
// /etc/<entry>, so /etc/pptpd.conf and /etc/ppp/* seen by the daemon are the
// test's, verbatim, while the host's stay untouched.
import { mkdirSync, writeFileSync, readFileSync, rmSync, chmodSync, existsSync } from 'node:fs';
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import type { ChildProcess } from 'node:child_process';
import type { TestNet } from './uml.js';

export interface DaemonFiles {
  /** /etc/pptpd.conf */
  pptpdConf: string;
  /** /etc/ppp/<name> → text (options.pptpd, chap-secrets, …). */
  ppp: Record<string, string>;
}

/** The daemon's compiled entry point (npm test runs dist/). */
export function pptpdEntry(name: 'pptpd' | 'pptpctl' = 'pptpd'): string[] {
  const js = fileURLToPath(new URL(`../../../src/cli/${name}.js`, import.meta.url));
  if (js.includes('/dist/') && existsSync(js)) return [process.execPath, js];
  const ts = fileURLToPath(new URL(`../../../src/cli/${name}.ts`, import.meta.url));
  return [process.execPath, '--import', 'tsx', ts];
}

/** ip-up/ip-down that append "$@" and a few env values to a log the test reads. */
export function recorderScript(log: string): string {
  return `#!/bin/sh\necho "$* | PEERNAME=$PEERNAME IFNAME=$IFNAME CONNECT_TIME=$CONNECT_TIME BYTES_SENT=$BYTES_SENT BYTES_RCVD=$BYTES_RCVD" >> ${log}\n`;
}

export class Daemon {
  readonly dir: string;
  readonly log: string;
  readonly socket: string;
  readonly ipUpLog: string;
  readonly ipDownLog: string;
  private child?: ChildProcess;
  private exitCode: number | null | undefined;

  constructor(readonly net: TestNet, files: DaemonFiles) {
    this.dir = mkdtempSync(join(tmpdir(), 'pptpd-daemon-'));
    this.log = join(this.dir, 'pptpd.log');
    this.socket = join(this.dir, 'pptpd.sock');
    this.ipUpLog = join(this.dir, 'ip-up.log');
    this.ipDownLog = join(this.dir, 'ip-down.log');
    const etc = `/etc/netns/${net.ns}`;
    mkdirSync(join(etc, 'ppp'), { recursive: true });
    writeFileSync(join(etc, 'pptpd.conf'), files.pptpdConf);
    const ppp: Record<string, string> = { 'ip-up': recorderScript(this.ipUpLog), 'ip-down': recorderScript(this.ipDownLog), ...files.ppp };
    for (const [name, text] of Object.entries(ppp)) {
      writeFileSync(join(etc, 'ppp', name), text);
    }
    chmodSync(join(etc, 'ppp', 'ip-up'), 0o755);
    chmodSync(join(etc, 'ppp', 'ip-down'), 0o755);
    if (ppp['chap-secrets'] !== undefined) chmodSync(join(etc, 'ppp', 'chap-secrets'), 0o600);
  }

  /** Rewrites one /etc/ppp file (e.g. chap-secrets before a SIGHUP). */
  writePpp(name: string, text: string): void {
    writeFileSync(join(`/etc/netns/${this.net.ns}`, 'ppp', name), text);
  }

  async start(args: string[] = []): Promise<void> {
    const cmd = [...pptpdEntry('pptpd'), '--fg', '--config', '/etc/pptpd.conf', '--datapath', 'tun',
      '--control-socket', this.socket, '--log-format', 'json', ...args];
    this.child = this.net.spawn(cmd, { logFile: this.log });
    this.child.once('exit', (code) => { this.exitCode = code; });
    await this.waitLog((o) => o.msg === 'pptpd ready', 15_000, 'pptpd ready');
  }

  get pid(): number | undefined {
    return this.child?.pid;
  }

  /** Parsed JSON log lines so far. */
  lines(): Array<Record<string, unknown>> {
    let text = '';
    try { text = readFileSync(this.log, 'utf8'); } catch { return []; }
    const out: Array<Record<string, unknown>> = [];
    for (const l of text.split('\n')) {
      if (!l.startsWith('{')) continue;
      try { out.push(JSON.parse(l) as Record<string, unknown>); } catch { /* partial line */ }
    }
    return out;
  }

  rawLog(): string {
    try { return readFileSync(this.log, 'utf8'); } catch { return ''; }
  }

  async waitLog(pred: (o: Record<string, unknown>) => boolean, timeoutMs: number, what: string): Promise<Record<string, unknown>> {
    const end = Date.now() + timeoutMs;
    for (;;) {
      const hit = this.lines().find(pred);
      if (hit) return hit;
      if (this.exitCode !== undefined) throw new Error(`pptpd exited (${this.exitCode}) while waiting for ${what}:\n${this.rawLog().slice(-4000)}`);
      if (Date.now() > end) throw new Error(`timed out waiting for ${what}; daemon log:\n${this.rawLog().slice(-4000)}`);
      await new Promise((r) => setTimeout(r, 100));
    }
  }

  async pptpctl(...args: string[]): Promise<{ code: number; stdout: string; stderr: string }> {
    return this.net.exec([...pptpdEntry('pptpctl'), '--control-socket', this.socket, ...args]);
  }

  async sessions(): Promise<Array<Record<string, unknown>>> {
    const r = await this.pptpctl('show', 'sessions', '--json');
    if (r.code !== 0) throw new Error(`pptpctl failed: ${r.stderr}`);
    return JSON.parse(r.stdout) as Array<Record<string, unknown>>;
  }

  signal(sig: NodeJS.Signals): void {
    // The spawned process is `ip netns exec … node`; ip execs node, same pid.
    if (this.child?.pid) process.kill(this.child.pid, sig);
  }

  async waitExit(timeoutMs: number): Promise<number | null> {
    const end = Date.now() + timeoutMs;
    while (this.exitCode === undefined) {
      if (Date.now() > end) throw new Error('pptpd did not exit');
      await new Promise((r) => setTimeout(r, 100));
    }
    return this.exitCode;
  }

  cleanup(): void {
    rmSync(`/etc/netns/${this.net.ns}`, { recursive: true, force: true });
    if (!process.env.PPTPD_INTEROP_KEEP) rmSync(this.dir, { recursive: true, force: true });
  }
}
