import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync, execFile } from 'node:child_process';
import { mkdtempSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { MgmtServer, mgmtRequest } from '../../src/mgmt/server.js';
import { formatSessions, parseRequest, type SessionView } from '../../src/mgmt/protocol.js';
import { silentLogger } from '../../src/util/log.js';
import { binCommand } from '../helpers/bin.js';

const view: SessionView = {
  id: 'a1', ifname: 'ppp0', user: 'user2', peer: '192.168.1.234', client: '10.0.0.9',
  callId: 7, peerCallId: 3, startedAt: 1_000_000, rxBytes: 10, txBytes: 20, mppe: '128-bit stateless', state: 'up',
};

// The server runs in this process, so the CLI must run without blocking it.
function run(cmd: string, args: string[]): Promise<{ status: number; stdout: string; stderr: string }> {
  return new Promise((resolve) => {
    execFile(cmd, args, { encoding: 'utf8' }, (err, stdout, stderr) => {
      resolve({ status: err ? (typeof err.code === 'number' ? err.code : 1) : 0, stdout, stderr });
    });
  });
}

function fixture() {
  const killed: string[] = [];
  let reloads = 0;
  const path = join(mkdtempSync(join(tmpdir(), 'pptpd-mgmt-')), 'ctl.sock');
  const server = new MgmtServer(path, {
    sessions: () => [view],
    kill: (t) => { killed.push(t); return t === 'ppp0' || t === 'user2' ? 1 : 0; },
    reload: async () => { reloads++; return { ok: true }; },
    stats: () => ({ sessions: 1 }),
  }, silentLogger);
  return { path, server, killed, reloads: () => reloads };
}

test('control socket is root-only and answers sessions, kill, reload, stats', async () => {
  const f = fixture();
  await f.server.start();
  try {
    assert.equal(statSync(f.path).mode & 0o777, 0o600);
    const s = await mgmtRequest(f.path, { cmd: 'sessions' });
    assert.deepEqual(s, { ok: true, sessions: [view] });
    assert.deepEqual(await mgmtRequest(f.path, { cmd: 'kill', target: 'ppp0' }), { ok: true, killed: 1 });
    assert.deepEqual(await mgmtRequest(f.path, { cmd: 'kill', target: 'nobody' }), { ok: false, error: 'no session matches nobody' });
    assert.deepEqual(await mgmtRequest(f.path, { cmd: 'reload' }), { ok: true, message: 'reloaded' });
    assert.equal(f.reloads(), 1);
    assert.deepEqual(await mgmtRequest(f.path, { cmd: 'stats' }), { ok: true, stats: { sessions: 1 } });
    const bad = await mgmtRequest(f.path, { cmd: 'format-disk' });
    assert.equal(bad.ok, false);
  } finally {
    await f.server.stop();
  }
});

test('pptpctl show sessions --json and the table', async () => {
  const f = fixture();
  await f.server.start();
  try {
    const [cmd, ...args] = binCommand('pptpctl');
    const json = await run(cmd, [...args, '--control-socket', f.path, 'show', 'sessions', '--json']);
    assert.equal(json.status, 0, json.stderr);
    const list = JSON.parse(json.stdout) as SessionView[];
    assert.equal(list[0].user, 'user2');
    assert.equal(list[0].ifname, 'ppp0');
    const table = await run(cmd, [...args, '-s', f.path, 'show', 'sessions']);
    assert.equal(table.status, 0, table.stderr);
    assert.match(table.stdout, /^IFNAME\s+USER\s+PEER\s+CLIENT/);
    assert.match(table.stdout, /ppp0\s+user2\s+192\.168\.1\.234\s+10\.0\.0\.9\s+7\/3/);
    const kill = await run(cmd, [...args, '-s', f.path, 'kill', 'user2']);
    assert.equal(kill.status, 0, kill.stderr);
    assert.deepEqual(f.killed, ['user2']);
    const miss = await run(cmd, [...args, '-s', f.path, 'kill', 'ghost']);
    assert.equal(miss.status, 1);
    assert.match(miss.stderr, /no session matches ghost/);
  } finally {
    await f.server.stop();
  }
});

test('pptpctl says clearly when the daemon is not running', () => {
  const [cmd, ...args] = binCommand('pptpctl');
  const r = spawnSync(cmd, [...args, '-s', '/nonexistent/pptpd.sock', 'show', 'sessions'], { encoding: 'utf8' });
  assert.equal(r.status, 1);
  assert.match(r.stderr, /cannot reach pptpd at \/nonexistent\/pptpd\.sock/);
});

test('a second daemon refuses a control socket in use', async () => {
  const f = fixture();
  await f.server.start();
  try {
    const other = new MgmtServer(f.path, { sessions: () => [], kill: () => 0, reload: async () => ({ ok: true }), stats: () => ({}) }, silentLogger);
    await assert.rejects(other.start(), /in use/);
  } finally {
    await f.server.stop();
  }
});

test('request parsing rejects malformed input', () => {
  assert.throws(() => parseRequest('{'));
  assert.throws(() => parseRequest('{"cmd":"kill"}'), /needs a target/);
  assert.deepEqual(parseRequest('{"cmd":"sessions"}'), { cmd: 'sessions' });
});

test('session table aligns columns and shows uptime', () => {
  const t = formatSessions([view], view.startedAt + 3_725_000);
  assert.match(t.split('\n')[1], /1:02:05/);
});
