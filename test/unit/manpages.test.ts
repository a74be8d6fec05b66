// The man pages must not drift from the programs: every option `pptpd
// --help` and `pptpctl --help` print is documented (and nothing else is),
// every pptpd.conf directive and every pppd option the parsers know is in
// pptpd.conf(5) under the class that matches what the parser does with it,
// and groff/man render the pages without a warning.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { existsSync, readFileSync, readdirSync } from 'node:fs';
import { join } from 'node:path';
import { buildPptpdCommand } from '../../src/cli/options.js';
import { buildPptpctl } from '../../src/cli/pptpctl.js';
import { PPTPD_CONF_DIRECTIVES, parsePptpdConf } from '../../src/config/pptpd-conf.js';
import { PPP_OPTION_NAMES, parsePppOptions, type PppOptions } from '../../src/config/ppp-options.js';
import { ConfigErrors } from '../../src/util/errors.js';
import { binCommand } from '../helpers/bin.js';
import { helpCommands, helpFlags, longOptions, tagEntries, tags, type Tag } from '../helpers/manpages-roff.js';
import { repoRoot } from '../interop/harness/node-entry.js';


const root = repoRoot();
const page = (name: string) => readFileSync(join(root, 'man', name), 'utf8');
const PAGES = ['pptpd.8', 'pptpd.conf.5', 'pptpctl.8'];

function run(name: 'pptpd' | 'pptpctl', ...args: string[]): string {
  const [cmd, ...pre] = binCommand(name);
  const r = spawnSync(cmd, [...pre, ...args], { encoding: 'utf8', timeout: 30_000 });
  assert.equal(r.status, 0, `${name} ${args.join(' ')}: ${r.stderr}`);
  return r.stdout;
}

function inSections(all: Tag[], ...sections: string[]): Tag[] {
  return all.filter((t) => sections.includes(t.section));
}

// ---- pptpd(8) -------------------------------------------------------------------------

test('pptpd.8 documents every option of `pptpd --help` under OPTIONS, short and long form together', () => {
  const printed = helpFlags(run('pptpd', '--help'));
  // The help printed by the program is the commander program's (nothing lost on the way).
  const declared = helpFlags(buildPptpdCommand().helpInformation());
  assert.deepEqual(printed.map((f) => f.long).sort(), declared.map((f) => f.long).sort());
  assert.ok(printed.length >= 20, `only ${printed.length} options read from --help`);

  const opts = inSections(tags(page('pptpd.8')), 'OPTIONS');
  for (const f of printed) {
    const tag = opts.find((t) => longOptions(t.text).includes(f.long));
    assert.ok(tag, `pptpd.8 has no OPTIONS entry for ${f.long}`);
    if (f.short) {
      assert.ok(new RegExp(`(^|[\\s,])${f.short}([\\s,]|$)`).test(tag.text), `pptpd.8 line ${tag.line}: ${f.long} is documented without its short form ${f.short}`);
    }
  }
  // Nothing documented that the program does not accept.
  const known = new Set(printed.map((f) => f.long));
  for (const t of opts) {
    const longs = longOptions(t.text);
    assert.equal(longs.length, 1, `pptpd.8 line ${t.line}: a tag under OPTIONS names exactly one long option: "${t.text}"`);
    assert.ok(known.has(longs[0]), `pptpd.8 line ${t.line}: ${longs[0]} is not an option of pptpd`);
  }
});

test('pptpd.8 lists the --datapath and --log-format choices the program accepts', () => {
  const src = tags(page('pptpd.8'));
  const cmd = buildPptpdCommand();
  for (const long of ['--datapath', '--log-format']) {
    const opt = cmd.options.find((o) => o.long === long)!;
    const tag = src.find((t) => t.section === 'OPTIONS' && longOptions(t.text).includes(long))!;
    const documented = tag.text.split(/\s+/).pop()!.split('|');
    assert.deepEqual(documented.sort(), [...(opt.argChoices ?? [])].sort(), `${long}: choices`);
  }
});

// ---- pptpctl(8) -----------------------------------------------------------------------

test('pptpctl.8 documents every command and every option of `pptpctl --help` and its commands', () => {
  const help = run('pptpctl', '--help');
  const program = buildPptpctl();
  const commands = helpCommands(help);
  assert.deepEqual(commands.filter((c) => c !== 'help').sort(), program.commands.map((c) => c.name()).sort());

  const all = tags(page('pptpctl.8'));
  const cmdTags = inSections(all, 'COMMANDS');
  for (const c of commands) {
    assert.ok(cmdTags.some((t) => t.text.split(/\s+/)[0] === c), `pptpctl.8 has no COMMANDS entry for "${c}"`);
  }
  for (const t of cmdTags) {
    const w = t.text.split(/\s+/)[0];
    assert.ok(w.startsWith('--') || commands.includes(w), `pptpctl.8 line ${t.line}: "${w}" is not a pptpctl command`);
  }

  // The program's options and each command's own (e.g. show --json).
  const flags = [...helpFlags(help), ...program.commands.flatMap((c) => helpFlags(c.helpInformation()))];
  assert.ok(flags.some((f) => f.long === '--json'), 'read the options of the commands');
  const documented = inSections(all, 'OPTIONS', 'COMMANDS');
  for (const f of flags) {
    const tag = documented.find((t) => longOptions(t.text).includes(f.long));
    assert.ok(tag, `pptpctl.8 does not document ${f.long}`);
    if (f.short) assert.ok(tag.text.includes(`${f.short},`), `pptpctl.8 line ${tag.line}: ${f.long} without ${f.short}`);
  }
  const known = new Set(flags.map((f) => f.long));
  for (const t of documented) {
    for (const l of longOptions(t.text)) assert.ok(known.has(l), `pptpctl.8 line ${t.line}: ${l} is not an option of pptpctl`);
  }
});

// ---- pptpd.conf(5): directives ---------------------------------------------------------

test('pptpd.conf.5 documents exactly the directives the pptpd.conf parser knows', () => {
  assert.ok(PPTPD_CONF_DIRECTIVES.length >= 23 && PPTPD_CONF_DIRECTIVES.includes('localip'));
  const dtags = inSections(tags(page('pptpd.conf.5')), 'DIRECTIVES', 'EXTENSIONS');
  const names = dtags.map((t) => tagEntries(t.raw)[0]?.name);
  assert.equal(new Set(names).size, names.length, `a directive is documented twice: ${names.join(' ')}`);
  assert.deepEqual([...names].sort(), [...PPTPD_CONF_DIRECTIVES].sort());
});

test('pptpd.conf.5 shows an argument exactly for the directives that need a value', () => {
  for (const t of inSections(tags(page('pptpd.conf.5')), 'DIRECTIVES', 'EXTENSIONS')) {
    const name = tagEntries(t.raw)[0].name;
    const hasArg = t.text.trim().split(/\s+/).length > 1;
    let needsValue = false;
    try {
      parsePptpdConf(`${name}\n`, 'test.conf');
    } catch (e) {
      assert.ok(e instanceof ConfigErrors);
      needsValue = e.errors.some((x) => x.line === 1 && /needs a value/.test(x.message));
    }
    assert.equal(hasArg, needsValue, `pptpd.conf.5 line ${t.line}: "${t.text}" ${needsValue ? 'needs' : 'takes no'} value`);
  }
});

// ---- pptpd.conf(5): pppd options -------------------------------------------------------

/** A value each argument placeholder of the page stands for, valid for the options that use it. */
const SAMPLE: Record<string, string> = {
  name: 'srv', file: '/etc/ppp/included', address: '10.0.0.1', addresses: '10.0.0.1', bytes: '1400',
  seconds: '30', n: '4', ms: '100', string: 'x', keywords: 'required,no56', command: 'x', map: '0',
  list: '0x11', fd: '3', password: 'x', numbers: '123', domain: 'example.org', endpoint: 'x', filter: 'x',
};

interface Parsed { o?: PppOptions; errors: string[]; included: string[] }

function parseOne(name: string, args: string[]): Parsed {
  const values = args.map((a) => {
    assert.ok(a in SAMPLE, `placeholder "${a}" of ${name}: add a sample value to this test`);
    return SAMPLE[a];
  });
  const included: string[] = [];
  // allow-noauth-server makes `noauth` legal; it changes nothing for any other option.
  const text = `${[name, ...values].join(' ')}\nallow-noauth-server\n`;
  try {
    const o = parsePppOptions(text, 'options.test', { include: (p) => { included.push(p); return { text: '', file: p }; } });
    return { o, errors: [], included };
  } catch (e) {
    assert.ok(e instanceof ConfigErrors, `${name}: ${String(e)}`);
    return { errors: e.errors.map((x) => x.message), included };
  }
}

const pppTags = () => inSections(tags(page('pptpd.conf.5')), 'PPPD OPTIONS');

test('pptpd.conf.5 lists every pppd option of the parser, once, in one of its four lists', () => {
  const table = PPP_OPTION_NAMES;
  assert.ok(table.length > 150 && ['ms-dns', '+pap', 'plugin', 'call', 'require-eap'].every((n) => table.includes(n)),
    `PPP_OPTION_NAMES holds only ${table.length} options`);
  const classes = new Set(['Options honoured', 'Options accepted without effect', 'Options understood but not implemented', 'Options refused']);
  const documented: string[] = [];
  for (const t of pppTags()) {
    assert.ok(classes.has(t.subsection), `pptpd.conf.5 line ${t.line}: under an unknown subsection "${t.subsection}"`);
    documented.push(...tagEntries(t.raw).map((e) => e.name));
  }
  const dup = documented.filter((n, i) => documented.indexOf(n) !== i);
  assert.deepEqual(dup, [], 'documented more than once');
  assert.deepEqual(table.filter((n) => !documented.includes(n)).sort(), [], 'pppd options missing from pptpd.conf.5');
  assert.deepEqual(documented.filter((n) => !table.includes(n)).sort(), [], 'documented options the parser does not know');
});

test('each documented pppd option does what its list says, with the arguments the page shows', () => {
  let n = 0;
  for (const t of pppTags()) {
    for (const { name, args } of tagEntries(t.raw)) {
      n++;
      const where = `pptpd.conf.5 line ${t.line}: ${[name, ...args].join(' ')}`;
      const r = parseOne(name, args);
      if (t.subsection === 'Options refused') {
        assert.ok(r.errors.some((m) => m.includes(name)), `${where}: expected an error naming it, got ${JSON.stringify(r.errors)}`);
        continue;
      }
      assert.deepEqual(r.errors, [], `${where}: wrong argument count or value`);
      const o = r.o!;
      if (t.subsection === 'Options accepted without effect') {
        assert.deepEqual(o.ignored, [name], `${where}: expected to be accepted without effect`);
        assert.deepEqual(o.warnings, [], where);
        continue;
      }
      // A sample argument left over (the page shows one too many) would be read as a speed.
      assert.deepEqual(o.ignored, [], `${where}: argument count`);
      if (t.subsection === 'Options honoured') {
        const bad = o.warnings.filter((w) => /not implemented|ignored|not supported|no effect/i.test(w));
        assert.deepEqual(bad, [], `${where}: documented as honoured but the parser says otherwise`);
        if (name === 'file' || name === 'call') assert.equal(r.included.length, 1, `${where}: reads the included file`);
      }
    }
  }
  assert.ok(n > 150, `checked only ${n} options`);
});

// ---- rendering, installation references -------------------------------------------------

const groffMissing = spawnSync('groff', ['--version']).status !== 0;
const manMissing = spawnSync('man', ['--version']).status !== 0;

test('groff -man -ww renders every page without a warning', { skip: groffMissing ? 'SKIPPED: groff is not installed (apt-get install groff-base)' : false }, () => {
  for (const p of PAGES) {
    const r = spawnSync('groff', ['-man', '-Tutf8', '-ww', '-z', join(root, 'man', p)], { encoding: 'utf8' });
    assert.equal(r.status, 0, `${p}: ${r.stderr}`);
    assert.equal(r.stderr, '', `${p}: groff warnings`);
  }
});

test('man -l renders every page without a warning', { skip: manMissing ? 'SKIPPED: man is not installed (apt-get install man-db)' : false }, () => {
  for (const p of PAGES) {
    const r = spawnSync('man', ['--warnings', '-l', join(root, 'man', p)], {
      encoding: 'utf8',
      env: { ...process.env, MANPAGER: 'cat', PAGER: 'cat', MANWIDTH: '80', LANG: 'C.UTF-8' },
    });
    assert.equal(r.status, 0, `${p}: ${r.stderr}`);
    assert.equal(r.stderr, '', `${p}: man warnings`);
    const name = p.replace(/\.\d$/, '');
    assert.match(r.stdout, new RegExp(`^NAME\\n\\s+${name.replace('.', '\\.')} +- `, 'm'), `${p}: NAME section`);
  }
});

test('the pages are plain ASCII roff with a .TH matching their file name', () => {
  assert.deepEqual(readdirSync(join(root, 'man')).sort(), [...PAGES].sort());
  for (const p of PAGES) {
    const src = page(p);
    assert.ok(!/[^\x09\x0a\x20-\x7e]/.test(src), `${p}: non-ASCII or control characters`);
    const [, name, sec] = /^(.*)\.(\d)$/.exec(p)!;
    assert.match(src, new RegExp(`^\\.TH ${name.toUpperCase().replace('.', '\\.')} ${sec} `, 'm'), `${p}: .TH`);
    assert.ok(!/^$/m.test(src.replace(/\n$/, '')), `${p}: blank lines (use .PP)`);
  }
});

test('every man: reference of the systemd unit, and every page the Makefile installs, exists', () => {
  const unit = readFileSync(join(root, 'systemd/pptpd.service'), 'utf8');
  const refs = [...unit.matchAll(/man:([\w.-]+)\((\d)\)/g)].map((m) => `${m[1]}.${m[2]}`);
  assert.ok(refs.length >= 2, 'the unit names its man pages');
  for (const r of refs) assert.ok(PAGES.includes(r), `systemd unit refers to man:${r}, which does not exist`);
  const mk = readFileSync(join(root, 'Makefile'), 'utf8');
  for (const p of PAGES) assert.ok(mk.includes(`man/${p}`), `the Makefile does not install man/${p}`);
  const pkg = JSON.parse(readFileSync(join(root, 'package.json'), 'utf8')) as { files: string[] };
  assert.ok(pkg.files.includes('man'), 'package.json "files" ships man/');
});
