import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { binCommand } from '../helpers/bin.js';
import { archwikiConfig } from '../helpers/install-env.js';

/** The Arch-wiki files in a temp dir, `option` pointing at the copy. */
function archwiki(): { dir: string; conf: string; secrets: string } {
  const dir = mkdtempSync(join(tmpdir(), 'pptpd-check-'));
  return { dir, ...archwikiConfig(dir) };
}

function pptpd(...args: string[]) {
  const [cmd, ...pre] = binCommand('pptpd');
  return spawnSync(cmd, [...pre, ...args], { encoding: 'utf8' });
}

test('--check prints the effective Arch-wiki configuration and exits 0', () => {
  const f = archwiki();
  const r = pptpd('--check', '--config', f.conf, '--chap-secrets', f.secrets);
  assert.equal(r.status, 0, r.stderr);
  assert.match(r.stdout, /address pool:\s+6 addresses/);
  assert.match(r.stdout, /auth:\s+MS-CHAPv2 only/);
  assert.match(r.stdout, /MPPE:\s+MPPE-128 required/);
  assert.match(r.stdout, /DNS:\s+8\.8\.8\.8, 8\.8\.4\.4/);
  assert.match(r.stdout, /configuration OK/);
  assert.ok(!r.stdout.includes('123'), 'the password must not be printed');
});

test('--check prints every error with file and line and exits 1', () => {
  const f = archwiki();
  writeFileSync(f.conf, `option ${join(f.dir, 'options.pptpd')}\nlocalip 10.1.1.300-2\nremoteip 10.0.0.9-3\nfrobnicate yes\n`);
  const r = pptpd('--check', '-c', f.conf, '--chap-secrets', f.secrets);
  assert.equal(r.status, 1);
  assert.ok(r.stderr.includes(`${f.conf}:2:`), r.stderr);
  assert.ok(r.stderr.includes(`${f.conf}:3:`), r.stderr);
  assert.ok(r.stderr.includes(`${f.conf}:4:`), r.stderr);
  assert.match(r.stderr, /configuration has errors/);
});

test('--check names a missing file', () => {
  const r = pptpd('--check', '--config', '/nonexistent/pptpd.conf');
  assert.equal(r.status, 1);
  assert.match(r.stderr, /\/nonexistent\/pptpd\.conf/);
});

test('--demo --check uses the embedded configuration', () => {
  const r = pptpd('--demo', '--check');
  assert.equal(r.status, 0, r.stderr);
  assert.match(r.stdout, /address pool:\s+50 addresses/);
  assert.match(r.stdout, /MS-CHAPv2 only/);
});

test('--help and --version exit 0', () => {
  const h = pptpd('--help');
  assert.equal(h.status, 0);
  assert.match(h.stdout, /--datapath/);
  const v = pptpd('-v');
  assert.equal(v.status, 0);
  assert.match(v.stdout, /^\d+\.\d+\.\d+/);
});
