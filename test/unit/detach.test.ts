// pptpd without --fg, outside systemd, detaches like poptop: the command
// re-runs itself with --fg in a new session, says so and exits 0; the daemon
// logs to /var/log/pptpd.log, writes its pidfile, answers PPTP on port 1723,
// and SIGTERM stops it and removes the pidfile.
//
// Nothing on the host is touched: the daemon runs in a network namespace of
// its own (port 1723 there), in a private mount namespace where a temporary
// directory is bind-mounted over /var/log, with config, secrets, pidfile and
// control socket in that temporary directory.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { rootSkipReason, TestNetns } from '../helpers/netns.js';
import { binCommand } from '../helpers/bin.js';
import { archwikiConfig, cleanEnv } from '../helpers/install-env.js';
import { fixture } from '../helpers/pptp-fixtures.js';

const skip = rootSkipReason()
  ?? (spawnSync('unshare', ['--version']).status !== 0 ? 'SKIPPED: needs unshare (util-linux) for a private /var/log' : false);

/** Connects to 127.0.0.1:1723 inside the namespace, sends the hex it is given, prints the first 156 bytes back as hex. */
const PROBE = `
const s = require('node:net').connect(1723, '127.0.0.1');
let got = Buffer.alloc(0);
s.on('connect', () => s.write(Buffer.from(process.argv[1], 'hex')));
s.on('data', (d) => { got = Buffer.concat([got, d]); if (got.length >= 156) { process.stdout.write(got.subarray(0, 156).toString('hex')); s.destroy(); } });
s.on('error', (e) => { process.stderr.write(String(e)); process.exit(2); });
setTimeout(() => process.exit(3), 5000).unref();
`;

/** Process state letter from /proc (R, S, Z, …), or undefined when it is gone. */
function procState(pid: number): string | undefined {
  try {
    return /^\d+ \(.*\) (\S)/.exec(readFileSync(`/proc/${pid}/stat`, 'utf8'))?.[1];
  } catch {
    return undefined;
  }
}
const alive = (pid: number): boolean => {
  const s = procState(pid);
  return s !== undefined && s !== 'Z'; // nobody may reap it in a container: a zombie has exited
};

async function until(what: string, ok: () => boolean, ms = 15_000): Promise<void> {
  const end = Date.now() + ms;
  while (!ok()) {
    if (Date.now() > end) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 50));
  }
}

test('pptpd without --fg detaches: parent exits 0, pidfile names a live --fg daemon in its own session that answers on 1723, logs to /var/log/pptpd.log; SIGTERM stops it and removes the pidfile', { skip, timeout: 30_000 }, async () => {
  const ns = TestNetns.create();
  const dir = mkdtempSync(join(tmpdir(), 'pptpd-detach-'));
  const logDir = join(dir, 'varlog');
  mkdirSync(logDir);
  const { conf, secrets } = archwikiConfig(dir);
  const pidfile = join(dir, 'pptpd.pid');
  const logFile = join(logDir, 'pptpd.log');
  let daemon: number | undefined;
  try {
    const [node, ...pre] = binCommand('pptpd');
    const parent = spawnSync('ip', [
      'netns', 'exec', ns.name,
      'unshare', '--mount', '--propagation', 'private',
      'sh', '-c', 'mount --bind "$0" /var/log && exec "$@"', logDir,
      node!, ...pre, '--config', conf, '--chap-secrets', secrets, '--pidfile', pidfile,
      '--control-socket', join(dir, 'ctl.sock'), '--log-format', 'json',
    ], { encoding: 'utf8', env: cleanEnv(), timeout: 15_000 });
    assert.equal(parent.status, 0, `parent: ${parent.stdout}\n${parent.stderr}`);
    const m = /^pptpd: running in the background as pid (\d+) \(log: \/var\/log\/pptpd\.log\)$/m.exec(parent.stdout);
    assert.ok(m, `parent said: ${parent.stdout}`);
    daemon = Number(m[1]);

    // The pidfile is written once the listeners are up.
    await until('the pidfile', () => existsSync(pidfile) && readFileSync(pidfile, 'utf8').length > 0);
    assert.equal(readFileSync(pidfile, 'utf8'), `${daemon}\n`);
    assert.ok(alive(daemon), 'the daemon runs');
    const cmdline = readFileSync(`/proc/${daemon}/cmdline`, 'utf8').split('\0');
    assert.ok(cmdline.includes('--fg'), `re-run with --fg: ${cmdline.join(' ')}`);
    assert.ok(cmdline.includes(pidfile), 'with the original arguments');
    const stat = readFileSync(`/proc/${daemon}/stat`, 'utf8').replace(/^\d+ \(.*\) /, '').split(' ');
    assert.equal(Number(stat[3]), daemon, 'leads a session of its own (setsid), no controlling terminal');

    // It answers PPTP: SCCRQ in, SCCRP result 1 out.
    const probe = spawnSync('ip', ['netns', 'exec', ns.name, process.execPath, '-e', PROBE, fixture('SCCRQ').bytes.toString('hex')], { encoding: 'utf8', timeout: 10_000 });
    assert.equal(probe.status, 0, probe.stderr);
    assert.match(probe.stdout, /^009c00011a2b3c4d00020000010001/, `SCCRP (length 156, control, magic, type 2, version 1.0, result 1): ${probe.stdout.slice(0, 32)}`);

    // Its log went to /var/log/pptpd.log (here: the bind-mounted temporary directory).
    await until('"pptpd ready" in the log', () => existsSync(logFile) && readFileSync(logFile, 'utf8').includes('"msg":"pptpd ready"'));
    assert.equal(statSync(logFile).mode & 0o777, 0o640 & ~process.umask());

    process.kill(daemon, 'SIGTERM');
    await until('the daemon to exit', () => !alive(daemon!));
    assert.ok(!existsSync(pidfile), 'the pidfile is removed');
    assert.match(readFileSync(logFile, 'utf8'), /"msg":"pptpd stopped"/);
  } finally {
    if (daemon !== undefined && alive(daemon)) process.kill(daemon, 'SIGKILL');
    ns.destroy();
    rmSync(dir, { recursive: true, force: true });
  }
});
