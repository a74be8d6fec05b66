import { test } from 'node:test';
import assert from 'node:assert/strict';
import { parseCli, buildPptpdCommand } from '../../src/cli/options.js';

const argv = (...a: string[]) => ['node', 'pptpd', ...a];

test('defaults match poptop and our extensions', () => {
  const o = parseCli(argv());
  assert.equal(o.conf, '/etc/pptpd.conf');
  assert.equal(o.confGiven, false);
  assert.equal(o.fg, false);
  assert.equal(o.datapath, 'auto');
  assert.equal(o.chapSecrets, '/etc/ppp/chap-secrets');
  assert.equal(o.controlSocket, '/run/pptpd.sock');
  assert.deepEqual(o.listen, []);
});

test('every poptop short flag parses', () => {
  const o = parseCli(argv('-b', 'eth1', '-c', '/x.conf', '-d', '-e', '/usr/sbin/pppd', '-f', '-i', '-l', '10.0.0.1',
    '-o', '/etc/ppp/opt', '-p', '/run/p.pid', '-s', '9600', '-t', '20', '-w', '-C', '50', '-D', '-V', 'blue'));
  assert.deepEqual(
    [o.bcrelay, o.conf, o.debug, o.ppp, o.fg, o.noipparam, o.listen, o.option, o.pidfile, o.speed, o.stimeout, o.logwtmp, o.connections, o.delegate, o.vrf],
    ['eth1', '/x.conf', true, '/usr/sbin/pppd', true, true, ['10.0.0.1'], '/etc/ppp/opt', '/run/p.pid', 9600, 20, true, 50, true, 'blue'],
  );
});

test('long forms, --config alias and extensions', () => {
  const o = parseCli(argv('--config', '/etc/pptpd.conf', '--fg', '--listen', '10.0.0.1', '--listen', '::1',
    '--check', '--chap-secrets', '/s', '--datapath', 'tun', '--control-socket', '/run/x.sock', '--log-format', 'json'));
  assert.equal(o.conf, '/etc/pptpd.conf');
  assert.equal(o.confGiven, true);
  assert.deepEqual(o.listen, ['10.0.0.1', '::1']);
  assert.equal(o.check, true);
  assert.equal(o.chapSecrets, '/s');
  assert.equal(o.datapath, 'tun');
  assert.equal(o.controlSocket, '/run/x.sock');
  assert.equal(o.logFormat, 'json');
});

test('bad values are refused with a clear message', () => {
  assert.throws(() => parseCli(argv('--datapath', 'warp')), /Allowed choices are auto, kernel, tun/);
  assert.throws(() => parseCli(argv('-C', 'many')), /connections must be a whole number/);
  assert.throws(() => parseCli(argv('--bogus')), /unknown option '--bogus'/);
});

test('--help lists every option with one line each', () => {
  const help = buildPptpdCommand().helpInformation();
  for (const f of ['-b, --bcrelay', '-c, --conf', '--config', '-d, --debug', '-e, --ppp', '-f, --fg', '-h, --help',
    '-i, --noipparam', '-l, --listen', '-o, --option', '-p, --pidfile', '-s, --speed', '-t, --stimeout',
    '-v, --version', '-w, --logwtmp', '-C, --connections', '-D, --delegate', '-V, --vrf', '--check',
    '--chap-secrets', '--datapath', '--control-socket', '--log-format', '--demo']) {
    assert.ok(help.includes(f), `help lacks ${f}`);
  }
});
