// The README's first command: `npm start` runs the daemon on the embedded
// default configuration. Run it in a private netns, as the README does on a host.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawn, spawnSync } from 'node:child_process';
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { rootSkipReason } from '../helpers/netns.js';
import { binCommand } from '../helpers/bin.js';

const skip = rootSkipReason() ?? false;

test('pptpd --fg --demo starts with a random password printed once, never logged, and stops on SIGTERM', { skip, timeout: 30_000 }, async () => {
  const ns = `pptpd-demo-${process.pid}`;
  spawnSync('ip', ['netns', 'add', ns]);
  try {
    spawnSync('ip', ['-n', ns, 'link', 'set', 'lo', 'up']);
    const sock = join(mkdtempSync(join(tmpdir(), 'pptpd-demo-')), 'ctl.sock');
    const [node, ...args] = binCommand('pptpd');
    const child = spawn('ip', ['netns', 'exec', ns, node, ...args, '--fg', '--demo', '--control-socket', sock, '--log-format', 'json'], { stdio: ['ignore', 'pipe', 'pipe'] });
    let out = '';
    let err = '';
    child.stdout.on('data', (d: Buffer) => { out += d.toString(); });
    child.stderr.on('data', (d: Buffer) => { err += d.toString(); });
    const exited = new Promise<number | null>((r) => child.on('exit', (c) => r(c)));
    const end = Date.now() + 20_000;
    while (!out.includes('"msg":"pptpd ready"')) {
      if (Date.now() > end) throw new Error(`not ready:\n${out}\n${err}`);
      await new Promise((r) => setTimeout(r, 100));
    }
    const m = /password:\s+(\S+)/.exec(err);
    assert.ok(m, `no password printed:\n${err}`);
    assert.equal(m[1].length, 16);
    assert.ok(!out.includes(m[1]), 'the demo password must not reach the log');
    assert.match(out, /"poolSize":50/);
    assert.match(out, /"auth":\["mschapv2"\]/);
    child.kill('SIGTERM');
    assert.equal(await exited, 0);
    assert.match(out, /"msg":"pptpd stopped"/);
  } finally {
    spawnSync('ip', ['netns', 'del', ns]);
  }
});
