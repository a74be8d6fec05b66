// Asserts that fn throws our config errors and that one of them names the
// given file and line with a matching problem.
import assert from 'node:assert/strict';
import { ConfigError, ConfigErrors } from '../../src/util/errors.js';

export function configErrors(fn: () => unknown): ConfigError[] {
  try {
    fn();
  } catch (e) {
    if (e instanceof ConfigErrors) return e.errors;
    if (e instanceof ConfigError) return [e];
    throw new assert.AssertionError({ message: `expected a ConfigError, got ${String(e)}` });
  }
  throw new assert.AssertionError({ message: 'expected a ConfigError, nothing was thrown' });
}

export function assertConfigError(fn: () => unknown, file: string, line: number, problem: RegExp): ConfigError {
  const errs = configErrors(fn);
  const hit = errs.find((e) => e.file === file && e.line === line && problem.test(e.problem));
  assert.ok(hit, `no error ${file}:${line} ${problem}; got:\n${errs.map((e) => e.message).join('\n')}`);
  assert.equal(hit.message, line > 0 ? `${file}:${line}: ${hit.problem}` : `${file}: ${hit.problem}`);
  assert.equal(hit.code, 'ERR_CONFIG');
  return hit;
}
