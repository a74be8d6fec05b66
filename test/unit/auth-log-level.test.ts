// Log levels of the authenticators: a success is one debug line (the
// session's own 'session up' / 'session down' line carries user and method at
// info, so a set-up costs one synchronous info write fewer); a failure stays an
// info line with the user and the reason; the password is in neither.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import type { AuthMethod } from '../../src/ppp/auth/types.js';
import { pipe } from '../helpers/auth-pipe.js';
import { settle } from '../helpers/auth-fake.js';

const METHODS: AuthMethod[] = ['mschapv2', 'mschap', 'chap-md5', 'pap'];
const parse = (lines: string[]) => lines.map((l) => JSON.parse(l) as { level: number; msg: string; user?: string; method?: string });

for (const method of METHODS) {
  test(`${method}: success logs 'peer authenticated' at debug only, nothing at info`, async () => {
    const p = pipe(method);
    await settle();
    assert.equal(p.serverDone[0]?.ok, true);
    const lines = parse(p.logLines);
    const ok = lines.filter((l) => l.msg === 'peer authenticated');
    assert.equal(ok.length, 1);
    assert.equal(ok[0]!.level, 20);
    assert.equal(ok[0]!.user, 'alice');
    assert.equal(ok[0]!.method, method);
    assert.deepEqual(lines.filter((l) => l.level >= 30), []);
    for (const l of p.logLines) assert.ok(!l.includes('correct horse'));
  });

  test(`${method}: a wrong password is still an info line with user and reason, without the password`, async () => {
    const p = pipe(method, { password: 'wrong battery' });
    await settle();
    assert.equal(p.serverDone[0]?.ok, false);
    const failed = parse(p.logLines).filter((l) => l.msg === 'authentication failed');
    assert.equal(failed.length, 1);
    assert.equal(failed[0]!.level, 30);
    assert.equal(failed[0]!.user, 'alice');
    for (const l of p.logLines) assert.ok(!l.includes('correct horse') && !l.includes('wrong battery'));
  });
}
