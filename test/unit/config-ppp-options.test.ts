import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { authMethods, mppePolicy, parsePppOptions, parsePppOptionFiles } from '../../src/config/ppp-options.js';
import { readWords } from '../../src/config/words.js';
import { assertConfigError, configErrors } from '../helpers/config-errors.js';

const F = 'options.pptpd';
const parse = (t: string, inc?: Record<string, string>) =>
  parsePppOptions(t, F, inc ? { include: (p) => { if (!(p in inc)) throw new Error('ENOENT'); return { text: inc[p], file: p }; } } : {});
const fixture = (p: string) => readFileSync(new URL(`../fixtures/config/${p}`, import.meta.url), 'latin1');

test('Arch-wiki options.pptpd (verbatim): MS-CHAPv2 only, MPPE-128 required stateless, two DNS', () => {
  const o = parse(fixture('archwiki/etc/ppp/options.pptpd'));
  assert.equal(o.name, 'pptpd');
  assert.deepEqual(authMethods(o), ['mschapv2']);
  assert.deepEqual(mppePolicy(o), { required: true, allow40: false, allow56: false, allow128: true, stateful: false });
  assert.deepEqual(o.dns, ['8.8.8.8', '8.8.4.4']);
  assert.equal(o.proxyarp, true);
  assert.equal(o.nobsdcomp, true);
  assert.equal(o.novj, true);
  assert.equal(o.novjccomp, true);
  assert.equal(o.nolog, true);
  assert.deepEqual(o.ignored, ['lock']);
  assert.deepEqual(o.warnings, []);
});

test('Debian: /etc/ppp/options then pptpd-options, as pppd reads them', () => {
  const o = parsePppOptionFiles([
    { text: fixture('debian/etc/ppp/options'), file: '/etc/ppp/options' },
    { text: fixture('debian/etc/ppp/pptpd-options'), file: '/etc/ppp/pptpd-options' },
  ]);
  assert.deepEqual(o.files, ['/etc/ppp/options', '/etc/ppp/pptpd-options']);
  assert.equal(o.auth.auth, true);
  assert.deepEqual(authMethods(o), ['mschapv2']);
  assert.equal(mppePolicy(o).required, true);
  assert.equal(o.lcpEchoInterval, 30);
  assert.equal(o.lcpEchoFailure, 4);
  assert.equal(o.defaultroute, false);
  assert.deepEqual(o.ignored, ['asyncmap', 'crtscts', 'lock', 'hide-password', 'modem', 'noipx', 'nologfd']);
});

test('word syntax: quotes, escapes, comments, words spanning lines', () => {
  const w = readWords('a "b c" \'d e\' f\\ g h#c\n# x\n"multi\nline" \\101\\x41\\n \\s "q\\"q" i\\\nj', 'w');
  assert.deepEqual(w.map((x) => x.text), ['a', 'b c', 'd e', 'f g', 'h', 'multi\nline', 'AA\n', ' ', 'q"q', 'ij']);
  assert.deepEqual(w.map((x) => x.line), [1, 1, 1, 1, 1, 3, 4, 4, 4, 4]);
  assert.deepEqual(w.map((x) => x.newline), [true, false, false, false, false, true, false, false, false, false]);
  assert.deepEqual(readWords('"a"b\'c\'', 'w').map((x) => x.text), ['abc']);
  assert.deepEqual(readWords('\\0101', 'w').map((x) => x.text), ['\x081']);
  assertConfigError(() => readWords('name "pptpd\n\n', 'w'), 'w', 1, /unterminated double quote/);
  assertConfigError(() => readWords("\n'x", 'w'), 'w', 2, /unterminated single quote/);
  assertConfigError(() => readWords('x'.repeat(1025), 'w'), 'w', 1, /longer than 1024/);
  assertConfigError(() => readWords('abc\\', 'w'), 'w', 1, /backslash at the end/);
});

test('option arguments may sit on the next line; numbers accept 0x', () => {
  const o = parse('ms-dns\n  10.0.0.1\nmtu 0x578 mru 1400 name "my server"\n');
  assert.deepEqual(o.dns, ['10.0.0.1']);
  assert.equal(o.mtu, 1400);
  assert.equal(o.mru, 1400);
  assert.equal(o.name, 'my server');
});

test('auth policy: require-* restricts, refuse-* removes, auth alone offers all', () => {
  assert.deepEqual(authMethods(parse('auth\n')), ['mschapv2', 'mschap', 'chap-md5', 'pap']);
  assert.deepEqual(authMethods(parse('')), ['mschapv2', 'mschap', 'chap-md5', 'pap']);
  assert.deepEqual(authMethods(parse('auth refuse-pap refuse-chap\n')), ['mschapv2', 'mschap']);
  assert.deepEqual(authMethods(parse('require-pap require-mschap\n')), ['mschap', 'pap']);
  assert.deepEqual(authMethods(parse('require-chap require-mschap-v2 refuse-chap\n')), ['mschapv2']);
  assert.deepEqual(authMethods(parse('+pap -chap\n')), ['pap']);
  assert.deepEqual(authMethods(parse('refuse-eap refuse-mschap-v2\n')), ['mschap', 'chap-md5', 'pap']);
  assertConfigError(() => parse('require-pap refuse-pap\n'), F, 1, /leave no authentication method/);
  assertConfigError(() => parse('\nrequire-eap\n'), F, 2, /EAP is never offered/);
});

test('noauth is refused on a server unless allow-noauth-server', () => {
  assertConfigError(() => parse('name x\nnoauth\n'), F, 2, /without credentials.*allow-noauth-server/);
  const o = parse('noauth\nallow-noauth-server\n');
  assert.deepEqual(authMethods(o), []);
  assert.ok(o.warnings.some((w) => /WITHOUT authentication/.test(w)));
  const r = parse('noauth\nrequire-mschap-v2\n');
  assert.deepEqual(authMethods(r), ['mschapv2']);
  assert.ok(r.warnings.some((w) => /noauth ignored/.test(w)));
});

test('MPPE policy from every option family', () => {
  const p = (t: string) => mppePolicy(parse(t));
  assert.deepEqual(p(''), { required: false, allow40: false, allow56: false, allow128: false, stateful: false });
  assert.deepEqual(p('require-mppe'), { required: true, allow40: true, allow56: false, allow128: true, stateful: false });
  assert.deepEqual(p('require-mppe nomppe-40'), { required: true, allow40: false, allow56: false, allow128: true, stateful: false });
  assert.deepEqual(p('require-mppe-40'), { required: true, allow40: true, allow56: false, allow128: false, stateful: false });
  assert.deepEqual(p('require-mppe-40 require-mppe-128 mppe-stateful'), { required: true, allow40: true, allow56: false, allow128: true, stateful: true });
  assert.deepEqual(p('require-mppe-128 mppe-stateful nomppe-stateful'), { required: true, allow40: false, allow56: false, allow128: true, stateful: false });
  assert.deepEqual(p('require-mppe nomppe'), { required: false, allow40: false, allow56: false, allow128: false, stateful: false });
  assert.deepEqual(p('require-mppe-128 nomppe-128'), { required: false, allow40: false, allow56: false, allow128: false, stateful: false });
  // the old patch syntax
  assert.deepEqual(p('mppe required,no40,no56,stateless'), { required: true, allow40: false, allow56: false, allow128: true, stateful: false });
  const old = parse('mppe no40');
  assert.deepEqual(mppePolicy(old), { required: false, allow40: false, allow56: true, allow128: true, stateful: true });
  assert.ok(old.warnings.some((w) => /56-bit/.test(w)));
  assertConfigError(() => parse('mppe required,no64'), F, 1, /unknown keyword "no64"/);
  // consistency with authentication and CCP
  assertConfigError(() => parse('require-pap\nrequire-mppe-128\n'), F, 2, /no MS-CHAP method/);
  assertConfigError(() => parse('require-mppe-128\nnoccp\n'), F, 1, /noccp disables CCP/);
  assert.ok(parse('require-mppe-128').warnings.some((w) => /PAP or CHAP-MD5 will fail/.test(w)));
});

test('ms-dns/ms-wins: two kept, a third replaces the second (pppd)', () => {
  const o = parse('ms-dns 1.1.1.1 ms-dns 2.2.2.2 ms-dns 3.3.3.3 ms-wins 4.4.4.4\n');
  assert.deepEqual(o.dns, ['1.1.1.1', '3.3.3.3']);
  assert.deepEqual(o.wins, ['4.4.4.4']);
  assert.ok(o.warnings.some((w) => /third ms-dns 3\.3\.3\.3 replaces 2\.2\.2\.2/.test(w)));
  assertConfigError(() => parse('\n\nms-dns dns.google\n'), F, 3, /ms-dns "dns.google" is not an IPv4 address/);
});

test('typed fields for the implemented options', () => {
  const o = parse([
    'lcp-echo-interval 10 lcp-echo-failure 3 idle 600 debug dump logfile /var/log/ppp.log',
    'ipparam office ip-up-script /x/up ip-down-script /x/down noproxyarp defaultroute nodeflate nopcomp noaccomp',
    'lcp-restart 2 lcp-max-configure 11 lcp-max-terminate 3 lcp-max-failure 6',
    'ipcp-restart 4 ipcp-max-configure 12 ipcp-max-terminate 5 ipcp-max-failure 7',
    'chap-restart 5 chap-max-challenge 9 pap-restart 6 pap-max-authreq 8 pap-timeout 30 10.0.0.1:10.0.0.2',
  ].join('\n'));
  assert.equal(o.lcpEchoInterval, 10); assert.equal(o.lcpEchoFailure, 3); assert.equal(o.idle, 600);
  assert.equal(o.debug, true); assert.equal(o.dump, true); assert.equal(o.logfile, '/var/log/ppp.log');
  assert.equal(o.ipparam, 'office'); assert.equal(o.ipUpScript, '/x/up'); assert.equal(o.ipDownScript, '/x/down');
  assert.equal(o.proxyarp, false); assert.equal(o.defaultroute, true); assert.equal(o.nodeflate, true);
  assert.equal(o.nopcomp, true); assert.equal(o.noaccomp, true);
  assert.deepEqual([o.lcpRestart, o.lcpMaxConfigure, o.lcpMaxTerminate, o.lcpMaxFailure], [2, 11, 3, 6]);
  assert.deepEqual([o.ipcpRestart, o.ipcpMaxConfigure, o.ipcpMaxTerminate, o.ipcpMaxFailure], [4, 12, 5, 7]);
  assert.deepEqual([o.chapRestart, o.chapMaxChallenge, o.papRestart, o.papMaxAuthreq, o.papTimeout], [5, 9, 6, 8, 30]);
  assert.equal(o.localAddress, '10.0.0.1'); assert.equal(o.remoteAddress, '10.0.0.2');
  assert.ok(o.warnings.some((w) => /:2: defaultroute/.test(w)));
  assert.ok(o.warnings.some((w) => /:5: 10\.0\.0\.1:10\.0\.0\.2: addresses come from pptpd\.conf/.test(w)));
});

test('understood-but-not-implemented options warn by name; tty options are listed as no effect', () => {
  const o = parse('plugin radius.so\nchap-interval 60\nmultilink\nipcp-accept-remote\nktune\n115200\ncrtscts modem local persist maxfail 0 holdoff 5 connect-delay 100 asyncmap 0 /dev/ttyS0 nomultilink\n');
  assert.deepEqual(o.plugins, ['radius.so']);
  assert.ok(o.warnings.includes('options.pptpd:1: plugin radius.so: pppd plugins are not supported yet; ignored'));
  for (const [line, name] of [[2, 'chap-interval'], [3, 'multilink'], [4, 'ipcp-accept-remote'], [5, 'ktune']] as const) {
    assert.ok(o.warnings.some((w) => w.startsWith(`options.pptpd:${line}: "${name}" is understood but`)), name);
  }
  assert.deepEqual(o.ignored, ['115200 (speed)', 'crtscts', 'modem', 'local', 'persist', 'maxfail', 'holdoff', 'connect-delay', 'asyncmap', '/dev/ttyS0 (device)', 'nomultilink']);
});

test('unknown options and bad values: errors with file and line, all collected', () => {
  assertConfigError(() => parse('name x\n\nfrobnicate\n'), F, 3, /unknown option "frobnicate"/);
  assertConfigError(() => parse('mtu 70000\n'), F, 1, /mtu "70000" must be a number from 128 to 16384/);
  assertConfigError(() => parse('mru abc\n'), F, 1, /mru "abc"/);
  assertConfigError(() => parse('lcp-echo-interval -1\n'), F, 1, /lcp-echo-interval "-1"/);
  assertConfigError(() => parse('\nname\n'), F, 2, /name needs a value/);
  assertConfigError(() => parse('call ../../etc/passwd\n'), F, 1, /not a peer name/);
  const errs = configErrors(() => parse('bogus1\nmtu 1\nbogus2\n'));
  assert.deepEqual(errs.map((e) => [e.file, e.line]), [[F, 1], [F, 2], [F, 3]]);
});

test('file includes: nested, errors located in the included file, loops and depth bounded', () => {
  const o = parse('name a\nfile /inc1\nms-dns 9.9.9.9\n', { '/inc1': 'mtu 1400\nfile /inc2\n', '/inc2': 'mru 1300\n' });
  assert.equal(o.mtu, 1400);
  assert.equal(o.mru, 1300);
  assert.deepEqual(o.dns, ['9.9.9.9']);
  assert.deepEqual(o.files, [F, '/inc1', '/inc2']);
  assertConfigError(() => parse('file /bad\n', { '/bad': '\nnonsense\n' }), '/bad', 2, /unknown option "nonsense"/);
  assertConfigError(() => parse('\nfile /missing\n', {}), F, 2, /file \/missing: cannot read it \(ENOENT\)/);
  assertConfigError(() => parse('file /a\n', { '/a': 'file /b\n', '/b': 'file /a\n' }), '/b', 1, /include loop/);
  assertConfigError(() => parse(`file ${F}\n`, {}), F, 1, /include loop/);
  const chain: Record<string, string> = {};
  for (let i = 0; i < 20; i++) chain[`/d${i}`] = `file /d${i + 1}\n`;
  assertConfigError(() => parse('file /d0\n', chain), '/d7', 1, /nested more than 8 deep/);
  const peers = parse('call office\n', { '/etc/ppp/peers/office': 'ms-wins 10.1.1.1\n' });
  assert.deepEqual(peers.wins, ['10.1.1.1']);
});
