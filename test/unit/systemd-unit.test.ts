import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { readFileSync } from 'node:fs';

const UNIT = 'systemd/pptpd.service';
const unit = readFileSync(UNIT, 'utf8');

test('unit starts pptpd in the foreground as Type=notify with SIGHUP reload', () => {
  assert.match(unit, /^ExecStart=\/usr\/bin\/pptpd --fg --config \/etc\/pptpd\.conf$/m);
  assert.match(unit, /^Type=notify$/m);
  assert.match(unit, /^ExecReload=\/bin\/kill -HUP \$MAINPID$/m);
  assert.match(unit, /^Restart=on-failure$/m);
  assert.match(unit, /^CapabilityBoundingSet=CAP_NET_ADMIN CAP_NET_RAW CAP_NET_BIND_SERVICE$/m);
});

test('systemd-analyze security rates the unit at exposure <= 2.5', (t) => {
  const probe = spawnSync('systemd-analyze', ['--version']);
  if (probe.error) {
    t.skip('systemd-analyze is not installed');
    return;
  }
  const r = spawnSync('systemd-analyze', ['security', '--offline=true', '--no-pager', UNIT], { encoding: 'utf8' });
  const m = /Overall exposure level for pptpd\.service: ([\d.]+)/.exec(r.stdout + r.stderr);
  assert.ok(m, `no exposure level in output:\n${r.stdout}${r.stderr}`);
  assert.ok(Number(m[1]) <= 2.5, `exposure ${m[1]} > 2.5`);
});
