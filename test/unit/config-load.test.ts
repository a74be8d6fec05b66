import { test } from 'node:test';
import assert from 'node:assert/strict';
import { fileURLToPath } from 'node:url';
import { diskFileSystem, loadConfig, type FileSystem } from '../../src/config/load.js';
import { describeEffective } from '../../src/config/effective.js';
import { authMethods, mppePolicy } from '../../src/config/ppp-options.js';
import { configErrors } from '../helpers/config-errors.js';

const root = (name: string) => fileURLToPath(new URL(`../fixtures/config/${name}`, import.meta.url));

/** An in-memory tree: path → [text, mode]. */
function memFs(files: Record<string, string | [string, number]>): FileSystem {
  return {
    readText: (p) => {
      const f = files[p];
      if (f === undefined) throw Object.assign(new Error(`ENOENT: ${p}`), { code: 'ENOENT' });
      return typeof f === 'string' ? f : f[0];
    },
    mode: (p) => (files[p] === undefined ? undefined : typeof files[p] === 'string' ? 0o600 : (files[p] as [string, number])[1]),
  };
}

test('Arch-wiki files verbatim: --check says pool 6, MS-CHAPv2 only, MPPE-128 required, DNS 8.8.8.8, 8.8.4.4', async () => {
  const c = loadConfig({ confPath: '/etc/pptpd.conf', fs: diskFileSystem(root('archwiki')) });
  assert.deepEqual(c.files.options, ['/etc/ppp/options.pptpd']);
  assert.deepEqual(authMethods(c.ppp), ['mschapv2']);
  assert.deepEqual(mppePolicy(c.ppp), { required: true, allow40: false, allow56: false, allow128: true, stateful: false });
  assert.equal(c.pptpd.poolRemote.length, 6);
  assert.equal((await c.secrets.lookup('user2', c.ppp.name!))?.secret, '123');
  const text = describeEffective(c);
  assert.match(text, /^address pool: +6 addresses$/m);
  assert.match(text, /^auth: +MS-CHAPv2 only$/m);
  assert.match(text, /^MPPE: +MPPE-128 required, stateless only$/m);
  assert.match(text, /^DNS: +8\.8\.8\.8, 8\.8\.4\.4$/m);
  assert.match(text, /^connections: +6 \(asked 100, limited by the pool\)$/m);
  assert.match(text, /^  localip: +192\.168\.1\.2 \(shared by every call\)$/m);
  assert.match(text, /^name: +pptpd$/m);
  assert.match(text, /^proxyarp: +yes$/m);
  assert.match(text, /^users: +1 secret$/m);
  assert.ok(!text.includes('123'), 'no secret in the --check output');
});

test('Debian stock files: /etc/ppp/options read first, then the named pptpd-options', () => {
  const c = loadConfig({ confPath: '/etc/pptpd.conf', fs: diskFileSystem(root('debian')) });
  assert.deepEqual(c.files.options, ['/etc/ppp/options', '/etc/ppp/pptpd-options']);
  assert.equal(c.ppp.lcpEchoInterval, 30);
  assert.equal(c.pptpd.logwtmp, true);
  const text = describeEffective(c);
  assert.match(text, /^address pool: +100 addresses \(poptop defaults\)$/m);
  assert.match(text, /^auth: +MS-CHAPv2 only$/m);
  assert.match(text, /^LCP echo: +every 30 s, 4 failures$/m);
  assert.match(text, /^no effect: .*nologfd/m);
});

test('options file default: /etc/ppp/options.pptpd when present, else /etc/ppp/options; -o wins', () => {
  const base = { '/c': 'localip 10.0.0.1\nremoteip 10.0.0.2\n', '/etc/ppp/chap-secrets': 'a * b *\n' };
  const withPptpd = loadConfig({ confPath: '/c', fs: memFs({ ...base, '/etc/ppp/options.pptpd': 'name one\n', '/etc/ppp/options': 'mtu 1400\n' }) });
  assert.deepEqual(withPptpd.files.options, ['/etc/ppp/options', '/etc/ppp/options.pptpd']);
  assert.equal(withPptpd.ppp.name, 'one');
  assert.equal(withPptpd.ppp.mtu, 1400);
  const onlySystem = loadConfig({ confPath: '/c', fs: memFs({ ...base, '/etc/ppp/options': 'name sys\n' }) });
  assert.deepEqual(onlySystem.files.options, ['/etc/ppp/options']);
  const cli = loadConfig({ confPath: '/c', overrides: { option: '/o' }, systemOptionsPath: null, fs: memFs({ ...base, '/o': 'name cli\n', '/etc/ppp/options': 'bogus\n' }) });
  assert.deepEqual(cli.files.options, ['/o']);
  assert.equal(cli.ppp.name, 'cli');
});

test('secrets: @/file resolved, permissions warned, pap-secrets merged', () => {
  const c = loadConfig({
    confPath: '/c',
    fs: memFs({
      '/c': 'localip 10.0.0.1\nremoteip 10.0.0.2\noption /o\n',
      '/o': 'name srv\n',
      '/etc/ppp/chap-secrets': ['alice srv @/etc/ppp/alice.pw *\nbob srv @/etc/ppp/missing *\ncarol srv @/etc/ppp/empty *\n', 0o644],
      '/etc/ppp/alice.pw': ['"open sesame" trailing words\n', 0o600],
      '/etc/ppp/empty': ['# nothing\n', 0o600],
      '/etc/ppp/pap-secrets': ['dave srv papword 10.0.0.2\n', 0o600],
    }),
  });
  assert.equal(c.secrets.find('alice', 'srv')?.secret, 'open sesame');
  assert.equal(c.secrets.find('bob', 'srv'), undefined);
  assert.equal(c.secrets.find('carol', 'srv'), undefined);
  assert.equal(c.secrets.find('dave', 'srv')?.pinnedAddress, '10.0.0.2');
  assert.equal(c.files.papSecrets, '/etc/ppp/pap-secrets');
  assert.ok(c.warnings.includes('/etc/ppp/chap-secrets: readable or writable by group/others (mode 0644); chmod 600 it'));
  assert.ok(c.warnings.some((w) => w.startsWith('/etc/ppp/chap-secrets:2: cannot read secret file /etc/ppp/missing (ENOENT)')));
  assert.ok(c.warnings.some((w) => w.startsWith('/etc/ppp/chap-secrets:3: no secret in /etc/ppp/empty')));
  assert.ok(!c.warnings.join('\n').includes('sesame'));
});

test('every error of every file is reported at once', () => {
  const errs = configErrors(() => loadConfig({
    confPath: '/c',
    fs: memFs({
      '/c': 'localip 10.0.0.1\nremoteip 10.0.0.9-3\nwhat\n',
      '/etc/ppp/options': 'mtu 5\n',
      '/etc/ppp/chap-secrets': 'lonely\n',
    }),
  }));
  assert.deepEqual(errs.map((e) => `${e.file}:${e.line}`), ['/c:2', '/c:3', '/etc/ppp/options:1', '/etc/ppp/chap-secrets:1']);
  const missing = configErrors(() => loadConfig({ confPath: '/nope', fs: memFs({}) }));
  assert.deepEqual(missing.map((e) => e.message), [
    '/nope: cannot read it (ENOENT)',
    '/etc/ppp/options: cannot read it (ENOENT)',
    '/etc/ppp/chap-secrets: cannot read it (ENOENT)',
  ]);
});
