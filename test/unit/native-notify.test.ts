import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { mkdtempSync, existsSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { loadNative } from '../../native/index.js';

// A unix datagram receiver in python3 (node has no AF_UNIX datagram sockets).
function receiver(path: string) {
  const py = `import socket,sys\ns=socket.socket(socket.AF_UNIX,socket.SOCK_DGRAM)\ns.bind(sys.argv[1])\nprint('ready',flush=True)\nd=s.recv(4096)\nprint(d.decode(),flush=True)\n`;
  return spawn('python3', ['-c', py, path], { stdio: ['ignore', 'pipe', 'inherit'] });
}

test('sdNotify delivers READY=1 to $NOTIFY_SOCKET', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'pptpd-notify-'));
  const path = join(dir, 'notify.sock');
  const child = receiver(path);
  let out = '';
  const done = new Promise<void>((resolve) => child.on('exit', () => resolve()));
  await new Promise<void>((resolve) => {
    child.stdout.on('data', (d: Buffer) => {
      out += d.toString();
      if (out.includes('ready')) resolve();
    });
  });
  assert.ok(existsSync(path));
  assert.equal(loadNative().sdNotify(path, 'READY=1\nSTATUS=listening'), true);
  await done;
  assert.match(out, /READY=1\nSTATUS=listening/);
});

test('sdNotify without a socket path is a no-op', () => {
  assert.equal(loadNative().sdNotify('', 'READY=1'), false);
});

test('sdNotify to a missing socket throws with errno name and operation', () => {
  assert.throws(
    () => loadNative().sdNotify('/nonexistent/dir/sock', 'READY=1'),
    (e: NodeJS.ErrnoException) => e.code === 'ENOENT' && /sendto/.test(e.message),
  );
});

test('sdNotify rejects a non-string argument with a TypeError', () => {
  assert.throws(() => (loadNative().sdNotify as unknown as (a: unknown, b: unknown) => boolean)(1, 'x'), TypeError);
});
