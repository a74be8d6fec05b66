import { test } from 'node:test';
import assert from 'node:assert/strict';
import { Writable } from 'node:stream';
import { createLogger, prettyLine } from '../../src/util/log.js';

function sink() {
  const lines: string[] = [];
  const w = new Writable({ write(c: Buffer, _e, cb) { lines.push(...c.toString().split('\n').filter(Boolean)); cb(); } });
  return { w, lines };
}

test('json logger writes one line per event with component and redacts secrets', () => {
  const { w, lines } = sink();
  const log = createLogger({ format: 'json', destination: w }).child({ component: 'auth' });
  log.info({ user: 'alice', password: 'hunter2', secret: 's3' }, 'login failed');
  assert.equal(lines.length, 1);
  const o = JSON.parse(lines[0]);
  assert.equal(o.component, 'auth');
  assert.equal(o.user, 'alice');
  assert.equal(o.msg, 'login failed');
  assert.ok(!lines[0].includes('hunter2'));
  assert.ok(!lines[0].includes('s3"'));
});

test('pretty logger prints level, component and fields', () => {
  const { w, lines } = sink();
  const log = createLogger({ format: 'pretty', destination: w, level: 'debug' }).child({ component: 'ctrl' });
  log.debug({ peer: '10.0.0.1' }, 'hello');
  assert.equal(lines.length, 1);
  assert.match(lines[0], /DEBUG \[ctrl\] hello peer=10\.0\.0\.1$/);
});

test('prettyLine passes a non-JSON line through', () => {
  assert.equal(prettyLine('not json'), 'not json');
});

test('a log file (pppd logfile) gets the same JSON lines, secrets redacted', async () => {
  const { mkdtempSync, readFileSync } = await import('node:fs');
  const { tmpdir } = await import('node:os');
  const { join } = await import('node:path');
  const file = join(mkdtempSync(join(tmpdir(), 'pptpd-log-')), 'pptpd.log');
  const { w, lines } = sink();
  const log = createLogger({ format: 'json', destination: w, file }).child({ component: 'ppp' });
  log.warn({ user: 'bob', password: 'pw-123' }, 'auth failed');
  log.flush();
  await new Promise((r) => setTimeout(r, 200));
  const text = readFileSync(file, 'utf8').trim().split('\n');
  assert.equal(lines.length, 1);
  assert.equal(text.length, 1);
  assert.equal(JSON.parse(text[0]).msg, 'auth failed');
  assert.ok(!text[0].includes('pw-123'));
});

test('an unwritable log file is a clear error at start-up', () => {
  assert.throws(() => createLogger({ file: '/nonexistent/dir/pptpd.log' }), /logfile \/nonexistent\/dir\/pptpd\.log: cannot open it \(ENOENT\)/);
});
