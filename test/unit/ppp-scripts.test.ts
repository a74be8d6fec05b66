import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, writeFileSync, readFileSync, chmodSync, existsSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { PppScripts, type ScriptSession } from '../../src/scripts/ppp-scripts.js';
import { silentLogger } from '../../src/util/log.js';

function script(dir: string, name: string, body: string): string {
  const p = join(dir, name);
  writeFileSync(p, `#!/bin/sh\n${body}\n`);
  chmodSync(p, 0o755);
  return p;
}

const session: ScriptSession = {
  sessionId: 's1', ifname: 'ppp3', local: '192.168.1.2', peer: '192.168.1.234',
  user: 'user2', ipparam: '10.0.0.9', dns: ['8.8.8.8', '8.8.4.4'],
};

test('ip-up gets pppd arguments and environment', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'pptpd-scripts-'));
  const out = join(dir, 'out');
  const up = script(dir, 'ip-up', `echo "$@" > ${out}; env | sort >> ${out}`);
  const s = new PppScripts({ ipUp: up, ipDown: '', speed: 115200, log: silentLogger });
  const r = await s.ipUp(session);
  assert.equal(r.ran, true);
  assert.equal(r.code, 0);
  const text = readFileSync(out, 'utf8');
  assert.equal(text.split('\n')[0], 'ppp3 pptp 115200 192.168.1.2 192.168.1.234 10.0.0.9');
  for (const kv of ['IFNAME=ppp3', 'IPLOCAL=192.168.1.2', 'IPREMOTE=192.168.1.234', 'PEERNAME=user2',
    'SPEED=115200', 'DNS1=8.8.8.8', 'DNS2=8.8.4.4', `PPPD_PID=${process.pid}`, 'DEVICE=pptp']) {
    assert.ok(text.includes(`\n${kv}\n`), `missing ${kv}`);
  }
  assert.ok(!text.includes('CONNECT_TIME='));
});

test('ip-down also gets CONNECT_TIME, BYTES_SENT, BYTES_RCVD', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'pptpd-scripts-'));
  const out = join(dir, 'out');
  const down = script(dir, 'ip-down', `env > ${out}`);
  const s = new PppScripts({ ipUp: '', ipDown: down, speed: 115200, log: silentLogger });
  await s.ipDown({ ...session, connectTimeSec: 42, bytesSent: 1000, bytesReceived: 2000 });
  const env = readFileSync(out, 'utf8');
  assert.match(env, /^CONNECT_TIME=42$/m);
  assert.match(env, /^BYTES_SENT=1000$/m);
  assert.match(env, /^BYTES_RCVD=2000$/m);
});

test('a missing script is skipped like pppd does', async () => {
  const s = new PppScripts({ ipUp: '/nonexistent/ip-up', ipDown: '', speed: 1, log: silentLogger });
  const r = await s.ipUp(session);
  assert.equal(r.ran, false);
});

test('a failing script is reported with its exit code', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'pptpd-scripts-'));
  const up = script(dir, 'ip-up', 'exit 3');
  const r = await new PppScripts({ ipUp: up, ipDown: '', speed: 1, log: silentLogger }).ipUp(session);
  assert.equal(r.code, 3);
});

test('a hanging script is killed with its children after the time limit', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'pptpd-scripts-'));
  const marker = join(dir, 'child-survived');
  const up = script(dir, 'ip-up', `(sleep 1; touch ${marker}) & sleep 30`);
  const r = await new PppScripts({ ipUp: up, ipDown: '', speed: 1, log: silentLogger, timeoutMs: 200 }).ipUp(session);
  assert.equal(r.timedOut, true);
  await new Promise((res) => setTimeout(res, 1300));
  assert.equal(existsSync(marker), false, 'the script\'s child kept running');
});
