import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { parsePptpdConf } from '../../src/config/pptpd-conf.js';
import { formatIPv4 } from '../../src/config/ipv4.js';
import { assertConfigError, configErrors } from '../helpers/config-errors.js';

const F = 'pptpd.conf';
const parse = (t: string, o = {}) => parsePptpdConf(t, F, o);
const ips = (a: Uint32Array) => [...a].map(formatIPv4);
const fixture = (p: string) => readFileSync(new URL(`../fixtures/config/${p}`, import.meta.url), 'utf8');

test('Arch-wiki pptpd.conf (verbatim): one shared localip, 6 remote addresses, connections cut to 6', () => {
  const c = parse(fixture('archwiki/etc/pptpd.conf'));
  assert.equal(c.option, '/etc/ppp/options.pptpd');
  assert.equal(c.sharedLocal, true);
  assert.deepEqual(ips(c.poolRemote), ['192.168.1.234', '192.168.1.235', '192.168.1.236', '192.168.1.237', '192.168.1.238', '192.168.1.245']);
  assert.deepEqual(ips(c.poolLocal), Array(6).fill('192.168.1.2'));
  assert.equal(c.connections, 6);
  assert.equal(c.connectionsRequested, 100);
  assert.equal(c.stimeout, 10);
  assert.equal(c.speed, 115200);
  assert.deepEqual(c.listen, []);
  assert.equal(c.logwtmp, false);
  assert.ok(c.warnings.some((w) => /connections 100 reduced to 6/.test(w)));
});

test('Debian stock pptpd.conf: option, logwtmp, poptop default ranges paired one-to-one', () => {
  const c = parse(fixture('debian/etc/pptpd.conf'));
  assert.equal(c.option, '/etc/ppp/pptpd-options');
  assert.equal(c.logwtmp, true);
  assert.equal(c.debug, false);
  assert.equal(c.defaultRanges, true);
  assert.equal(c.sharedLocal, false);
  assert.equal(c.poolRemote.length, 100);
  assert.equal(formatIPv4(c.poolLocal[0]), '192.168.0.1');
  assert.equal(formatIPv4(c.poolRemote[0]), '192.168.1.1');
  assert.equal(formatIPv4(c.poolLocal[99]), '192.168.0.100');
  assert.equal(formatIPv4(c.poolRemote[99]), '192.168.1.100');
  assert.equal(c.connections, 100);
  assert.ok(c.warnings.some((w) => /poptop's defaults/.test(w)));
});

test('every directive is read', () => {
  const c = parse([
    'option /etc/ppp/x', 'debug', 'stimeout 30', 'noipparam', 'logwtmp', 'bcrelay eth1', 'delegate',
    'connections 3', 'localip 10.0.0.1', 'remoteip 10.0.0.10-20', 'listen 192.0.2.1', 'listen 2001:db8::1',
    'pidfile /run/p.pid', 'speed 9600', 'vrf blue', 'ppp /usr/sbin/pppd', '',
  ].join('\n'));
  assert.equal(c.option, '/etc/ppp/x');
  assert.equal(c.debug, true);
  assert.equal(c.stimeout, 30);
  assert.equal(c.noipparam, true);
  assert.equal(c.logwtmp, true);
  assert.equal(c.bcrelay, 'eth1');
  assert.equal(c.delegate, true);
  assert.equal(c.connections, 3);
  assert.equal(c.poolRemote.length, 3, 'pool cut to connections (poptop: extra addresses ignored)');
  assert.deepEqual(c.listen, ['192.0.2.1', '2001:db8::1']);
  assert.equal(c.pidfile, '/run/p.pid');
  assert.equal(c.speed, 9600);
  assert.equal(c.vrf, 'blue');
  assert.equal(c.ppp, '/usr/sbin/pppd');
  assert.ok(c.warnings.some((w) => /only the first 3 are used/.test(w)));
  assert.ok(c.warnings.some((w) => /pptpd\.conf:16: ppp: no pppd is run/.test(w)));
  assert.ok(c.warnings.some((w) => /bcrelay: .*not implemented/.test(w)));
  assert.ok(c.warnings.some((w) => /delegate: not implemented/.test(w)));
});

test('first occurrence wins, later duplicates warn with both lines', () => {
  const c = parse('stimeout 5\nlocalip 10.0.0.1\nremoteip 10.0.0.2-3\nstimeout 7\nremoteip 10.9.9.9\n');
  assert.equal(c.stimeout, 5);
  assert.deepEqual(ips(c.poolRemote), ['10.0.0.2', '10.0.0.3']);
  assert.ok(c.warnings.includes('pptpd.conf:4: duplicate "stimeout" ignored: the first one (line 1) wins'));
  assert.ok(c.warnings.includes('pptpd.conf:5: duplicate "remoteip" ignored: the first one (line 3) wins'));
});

test('comments: whole lines and after a value; CRLF; no newline at the end', () => {
  const c = parse('# c\r\nlocalip 10.0.0.1   # our end\r\nremoteip 10.0.0.2-4#pool\r\n\r\nstimeout 3');
  assert.deepEqual(ips(c.poolRemote), ['10.0.0.2', '10.0.0.3', '10.0.0.4']);
  assert.equal(c.stimeout, 3);
  assert.deepEqual(c.warnings.filter((w) => /long|white/.test(w)), []);
});

test('a line starting with white space is not a directive (warned, ignored)', () => {
  const c = parse('localip 10.0.0.1\nremoteip 10.0.0.2\n  stimeout 99\n\tdebug\n');
  assert.equal(c.stimeout, 10);
  assert.equal(c.debug, false);
  assert.ok(c.warnings.some((w) => w.startsWith('pptpd.conf:3: line starts with white space')));
  assert.ok(c.warnings.some((w) => w.startsWith('pptpd.conf:4: line starts with white space')));
});

test('lines of 510+ characters are accepted with a warning', () => {
  const long = 'remoteip ' + Array.from({ length: 60 }, (_, i) => `10.1.${i}.1`).join(',');
  assert.ok(long.length >= 510);
  const c = parse(`localip 10.0.0.1\n${long}\n`);
  assert.equal(c.poolRemote.length, 60);
  assert.ok(c.warnings.some((w) => /^pptpd\.conf:2: line of \d+ characters/.test(w)));
});

test('several localip: paired one-to-one, pool = min, warning when sizes differ', () => {
  const c = parse('localip 10.0.0.1-3\nremoteip 10.1.0.1-5\n');
  assert.equal(c.sharedLocal, false);
  assert.deepEqual(ips(c.poolLocal), ['10.0.0.1', '10.0.0.2', '10.0.0.3']);
  assert.deepEqual(ips(c.poolRemote), ['10.1.0.1', '10.1.0.2', '10.1.0.3']);
  assert.equal(c.connections, 3);
  assert.ok(c.warnings.some((w) => /pool size 3/.test(w)));
});

test('command-line overrides win over the file', () => {
  const c = parse('stimeout 5\nconnections 50\nlocalip 10.0.0.1\nremoteip 10.0.0.2-100\nlisten 10.0.0.1\n',
    { stimeout: 9, connections: 4, listen: ['127.0.0.1'], option: '/o', debug: true, noipparam: true, logwtmp: true, speed: 1 });
  assert.equal(c.stimeout, 9);
  assert.equal(c.connections, 4);
  assert.deepEqual(c.listen, ['127.0.0.1']);
  assert.equal(c.option, '/o');
  assert.equal(c.debug, true);
  assert.equal(c.noipparam, true);
  assert.equal(c.speed, 1);
});

test('flag with a value warns; value directive without one is an error', () => {
  const c = parse('debug yes\nlocalip 10.0.0.1\nremoteip 10.0.0.2\n');
  assert.ok(c.warnings.includes('pptpd.conf:1: "debug" takes no value; "yes" ignored'));
  assertConfigError(() => parse('pidfile\n'), F, 1, /"pidfile" needs a value/);
});

test('error paths name file and line, and every error of the file is reported', () => {
  assertConfigError(() => parse('foo bar\n'), F, 1, /unknown directive "foo"/);
  assertConfigError(() => parse('\nLocalip 10.0.0.1\n'), F, 2, /case-sensitive: "localip"/);
  assertConfigError(() => parse('localip 10.0.0.1\nremoteip 10.1.1.300-2\n'), F, 2, /octet 300/);
  assertConfigError(() => parse('localip 10.0.0.1\nremoteip 10.0.0.9-3\n'), F, 2, /reversed range/);
  assertConfigError(() => parse('localip 10.0.0.1\n'), F, 1, /remoteip is missing/);
  assertConfigError(() => parse('#\nremoteip 10.0.0.2\n'), F, 2, /localip is missing/);
  assertConfigError(() => parse('localip 10.0.0.1-5\nremoteip 10.0.0.5-9\n'), F, 1, /overlap: 10\.0\.0\.5/);
  assertConfigError(() => parse('localip 10.0.0.1\nremoteip 10.0.0.2-4,10.0.0.3\n'), F, 2, /10\.0\.0\.3 more than once/);
  assertConfigError(() => parse('stimeout ten\n'), F, 1, /stimeout "ten" must be a whole number/);
  assertConfigError(() => parse('connections 0\n'), F, 1, /connections "0"/);
  assertConfigError(() => parse('connections 70000\n'), F, 1, /connections "70000"/);
  assertConfigError(() => parse('listen vpn.example.com\n'), F, 1, /not an IPv4 or IPv6 address/);
  const all = configErrors(() => parse('bogus\nlocalip 10.0.0.1\nremoteip 10.0.0.1\nstimeout x\nother\n'));
  assert.deepEqual(all.map((e) => e.line), [1, 2, 4, 5]);
});
