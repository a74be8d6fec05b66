// `make install` into a staging root (DESTDIR): the programs, their runtime
// dependencies (and no dev ones), the native addon, the man pages and the systemd unit land
// where they belong, the installed programs run, nothing is left in the tree,
// and `make uninstall` takes it all away again. Works on the existing build
// and never triggers one: without the build output it skips (npm ci would
// replace node_modules under every other running test).
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { existsSync, lstatSync, mkdtempSync, readFileSync, readdirSync, readlinkSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { archwikiConfig, cleanEnv } from '../helpers/install-env.js';
import { repoRoot } from '../interop/harness/node-entry.js';


const root = repoRoot();
const MAN_PAGES = ['pptpd.8', 'pptpctl.8', 'pptpd.conf.5'];
const BUILT = ['dist/src/cli/pptpd.js', 'dist/src/cli/pptpctl.js', 'native/build/Release/pptpd_native.node'];
const missing = BUILT.filter((f) => !existsSync(join(root, f)));
const skip = spawnSync('make', ['--version']).status !== 0
  ? 'SKIPPED: make is not installed'
  : missing.length > 0
    ? `SKIPPED: no build output (${missing.join(', ')}); run \`npm run build\` first (make install would run npm ci)`
    : false;

function make(...args: string[]) {
  return spawnSync('make', ['-C', root, ...args], { encoding: 'utf8', env: cleanEnv(), timeout: 60_000 });
}

function tgzInRoot(): string[] {
  return readdirSync(root).filter((f) => /^pptpd-.*\.tgz$/.test(f));
}

test('make install DESTDIR=… installs programs, addon, dependencies, man pages and unit; the programs run; uninstall removes them', { skip, timeout: 90_000 }, () => {
  const stage = mkdtempSync(join(tmpdir(), 'pptpd-install-'));
  const tgzBefore = tgzInRoot();
  try {
    // PREFIX other than /usr: the unit's ExecStart must follow it. BUILT=
    // (nothing to check) so make never falls back to npm ci here, even if a
    // concurrent rebuild removes a build file for a moment.
    const r = make('install', `DESTDIR=${stage}`, 'PREFIX=/usr/local', 'NPM_FLAGS=--prefer-offline', 'BUILT=');
    assert.equal(r.status, 0, `make install failed:\n${r.stdout}\n${r.stderr}`);
    assert.match(r.stdout, /installed: \/usr\/local\/bin\/pptpd \/usr\/local\/bin\/pptpctl \/etc\/systemd\/system\/pptpd\.service/);
    assert.match(r.stdout, /man pages: \/usr\/local\/share\/man\/man8\/pptpd\.8 \/usr\/local\/share\/man\/man8\/pptpctl\.8 \/usr\/local\/share\/man\/man5\/pptpd\.conf\.5/);

    // Everything under the staging root, nothing in the tree.
    assert.deepEqual(tgzInRoot(), tgzBefore, 'the packed tarball must not be left in the tree');
    assert.deepEqual(readdirSync(stage).sort(), ['etc', 'usr']);

    const pkgDir = join(stage, 'usr/local/lib/node_modules/pptpd');
    const pkg = JSON.parse(readFileSync(join(pkgDir, 'package.json'), 'utf8')) as { version: string; dependencies: Record<string, string> };
    const ours = JSON.parse(readFileSync(join(root, 'package.json'), 'utf8')) as { version: string; devDependencies: Record<string, string> };
    assert.equal(pkg.version, ours.version);

    // bin/ links into the package (relative, so they work wherever the root is mounted).
    for (const name of ['pptpd', 'pptpctl']) {
      const link = join(stage, 'usr/local/bin', name);
      assert.ok(lstatSync(link).isSymbolicLink(), `${name} is a symlink`);
      assert.equal(readlinkSync(link), `../lib/node_modules/pptpd/dist/src/cli/${name}.js`);
      const target = resolve(dirname(link), readlinkSync(link));
      assert.ok((statSync(target).mode & 0o111) !== 0, `${name} is executable`);
      assert.match(readFileSync(target, 'utf8'), /^#!\/usr\/bin\/env node\n/);
    }
    // The addon the daemon loads, runtime dependencies, no dev dependencies, no tests.
    assert.ok(statSync(join(pkgDir, 'native/build/Release/pptpd_native.node')).size > 0);
    assert.ok(existsSync(join(pkgDir, 'dist/native/index.js')));
    for (const dep of Object.keys(pkg.dependencies)) assert.ok(existsSync(join(pkgDir, 'node_modules', dep, 'package.json')), `dependency ${dep}`);
    for (const dev of Object.keys(ours.devDependencies)) assert.ok(!existsSync(join(pkgDir, 'node_modules', dev)), `no dev dependency ${dev}`);
    assert.ok(!existsSync(join(pkgDir, 'dist/test')), 'tests are not installed');

    // The unit, with ExecStart following PREFIX.
    const unit = readFileSync(join(stage, 'etc/systemd/system/pptpd.service'), 'utf8');
    assert.equal((statSync(join(stage, 'etc/systemd/system/pptpd.service')).mode & 0o777), 0o644);
    assert.match(unit, /^ExecStart=\/usr\/local\/bin\/pptpd --fg --config \/etc\/pptpd\.conf$/m);
    assert.match(unit, /^Type=notify$/m);

    // The man pages under PREFIX/share/man, as in the tree, readable by all
    // (`man pptpd`, and the unit's Documentation= line, find them there).
    for (const page of MAN_PAGES) {
      const f = join(stage, 'usr/local/share/man', `man${page.slice(-1)}`, page);
      assert.ok(existsSync(f), `${page} installed`);
      assert.equal(statSync(f).mode & 0o777, 0o644, `${page} mode`);
      assert.equal(readFileSync(f, 'utf8'), readFileSync(join(root, 'man', page), 'utf8'), `${page} content`);
      assert.ok(existsSync(join(pkgDir, 'man', page)), `${page} in the npm package ("files")`);
    }

    // The installed programs run from the staging root alone.
    const run = (name: string, ...args: string[]) =>
      spawnSync(join(stage, 'usr/local/bin', name), args, { encoding: 'utf8', env: cleanEnv(), cwd: stage, timeout: 20_000 });
    const v = run('pptpd', '--version');
    assert.equal(v.status, 0, v.stderr);
    assert.equal(v.stdout.trim(), ours.version);
    const cv = run('pptpctl', '--version');
    assert.equal(cv.status, 0, cv.stderr);
    assert.equal(cv.stdout.trim(), ours.version);

    const conf = mkdtempSync(join(tmpdir(), 'pptpd-install-conf-'));
    try {
      const f = archwikiConfig(conf);
      const c = run('pptpd', '--check', '--config', f.conf, '--chap-secrets', f.secrets);
      assert.equal(c.status, 0, c.stderr);
      assert.match(c.stdout, /address pool:\s+6 addresses/);
      assert.match(c.stdout, /configuration OK/);
      // A broken configuration is still reported by the installed program.
      writeFileSync(f.conf, 'localip 10.1.1.300\n');
      const bad = run('pptpd', '--check', '--config', f.conf, '--chap-secrets', f.secrets);
      assert.equal(bad.status, 1);
      assert.ok(bad.stderr.includes(`${f.conf}:1:`), bad.stderr);
    } finally {
      rmSync(conf, { recursive: true, force: true });
    }

    const u = make('uninstall', `DESTDIR=${stage}`, 'PREFIX=/usr/local');
    assert.equal(u.status, 0, `make uninstall failed:\n${u.stdout}\n${u.stderr}`);
    assert.ok(!existsSync(join(stage, 'usr/local/bin/pptpd')));
    assert.ok(!existsSync(join(stage, 'usr/local/bin/pptpctl')));
    assert.ok(!existsSync(pkgDir));
    assert.ok(!existsSync(join(stage, 'etc/systemd/system/pptpd.service')));
    for (const page of MAN_PAGES) assert.ok(!existsSync(join(stage, 'usr/local/share/man', `man${page.slice(-1)}`, page)), `${page} removed`);
  } finally {
    rmSync(stage, { recursive: true, force: true });
  }
});
