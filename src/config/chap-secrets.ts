// pppd secrets files (chap-secrets, pap-secrets: same format), pppd's
// auth.c scan_authfile / set_allowed_addrs semantics:
//   client server secret [address ...] [-- option ...]
//  - words as in options files (quotes, escapes, comments; words.ts); an
//    entry starts with the first word of a line;
//  - `*` as client or server matches any name;
//  - a secret `@/path` means: the first word of that file (load.ts reads it);
//  - address column, first matching rule wins, anything unmatched is refused:
//      `*` any address, `-` (as first word) no address at all, `a.b.c.d`,
//      `a.b.c.d/n` subnet, `!` in front = not this one;
//    with NO address words pppd allows no address either ("only 3 words …
//    all IP addresses are disallowed"); we write that as an explicit
//    [{kind:'none'}] and warn, because it is the most common chap-secrets
//    mistake (the user can never bring the link up);
//  - `a.b.c.d/n+` (pppd: address from the unit number) is not supported;
//  - words after `--` are per-user pppd options: not supported, warned.
// Secrets never appear in messages: problems name file and line only.
import type { AddressRule, SecretEntry } from '../auth/types.js';
import { ConfigError, ConfigErrors } from '../util/errors.js';
import { formatIPv4, parseIPv4 } from './ipv4.js';
import { readWords, type Word } from './words.js';

export interface SecretRecord extends SecretEntry {
  file: string;
  line: number;
  /** Set while the secret is still `@/path` (load.ts resolves it). */
  secretFile?: string;
}

export interface SecretsFile {
  entries: SecretRecord[];
  warnings: string[];
}

/** Parses a chap-secrets/pap-secrets text. Throws ConfigErrors with every problem. */
export function parseSecrets(text: string, file: string): SecretsFile {
  const errors: ConfigError[] = [];
  const warnings: string[] = [];
  let words: Word[];
  try {
    words = readWords(text, file);
  } catch (e) {
    throw new ConfigErrors([e as ConfigError]);
  }
  const entries: SecretRecord[] = [];
  let i = 0;
  while (i < words.length) {
    // Gather one entry: a word at the start of a line and the words after it on that line.
    const start = i++;
    while (i < words.length && !words[i].newline) i++;
    const entry = words.slice(start, i);
    const line = entry[0].line;
    if (entry.length < 3) {
      errors.push(new ConfigError(file, line, `an entry needs client, server and secret (found ${entry.length} word${entry.length === 1 ? '' : 's'})`));
      continue;
    }
    const [client, server, secret] = entry.map((w) => w.text);
    const rec: SecretRecord = { client, server, secret, addresses: [], source: `${file}:${line}`, file, line };
    if (secret.startsWith('@/')) { rec.secretFile = secret.slice(1); rec.secret = ''; }
    const addrWords = entry.slice(3).map((w) => w.text);
    const sep = addrWords.indexOf('--');
    if (sep >= 0) {
      warnings.push(`${file}:${line}: per-entry pppd options after "--" are not supported; ignored`);
      addrWords.length = sep;
    }
    const problem = parseAddressColumn(addrWords, rec, (w) => warnings.push(`${file}:${line}: ${w}`));
    if (problem) { errors.push(new ConfigError(file, line, problem)); continue; }
    if (addrWords.length === 0) {
      warnings.push(`${file}:${line}: no address column: pppd lets "${client}" use no address at all (add * to allow any)`);
    }
    entries.push(rec);
  }
  if (errors.length > 0) throw new ConfigErrors(errors);
  return { entries, warnings };
}

/** Fills rec.addresses / rec.pinnedAddress; returns a problem string or undefined. */
function parseAddressColumn(words: string[], rec: SecretRecord, warn: (w: string) => void): string | undefined {
  const rules: AddressRule[] = [];
  if (words.length === 0) {
    rec.addresses = [{ kind: 'none' }];
    return undefined;
  }
  for (let k = 0; k < words.length; k++) {
    let w = words[k];
    if (w === '-') {
      // pppd stops reading the list at `-`; everything not matched so far is refused.
      if (k === 0) rules.push({ kind: 'none' });
      if (k < words.length - 1) warn(`words after "-" in the address column are ignored (pppd)`);
      break;
    }
    const negate = w.startsWith('!');
    if (negate) w = w.slice(1);
    if (w === '*') { rules.push(negate ? { kind: 'none' } : { kind: 'any' }); continue; }
    const slash = w.indexOf('/');
    if (slash >= 0) {
      const addr = parseIPv4(w.slice(0, slash));
      const pfx = w.slice(slash + 1);
      if (pfx.endsWith('+')) return `address "${words[k]}": the "/n+" form (address from the unit number) is not supported`;
      if (addr === undefined || !/^[0-9]{1,2}$/.test(pfx) || Number(pfx) > 32) {
        return `address "${words[k]}" is not a.b.c.d/n with n from 0 to 32`;
      }
      rules.push({ kind: 'subnet', address: formatIPv4(addr), prefix: Number(pfx), negate });
      continue;
    }
    const addr = parseIPv4(w);
    if (addr === undefined) {
      return /[a-zA-Z]/.test(w)
        ? `address "${words[k]}": host names are not resolved; give an IPv4 address`
        : `address "${words[k]}" is not an IPv4 address`;
    }
    rules.push({ kind: 'address', address: formatIPv4(addr), negate });
  }
  rec.addresses = rules;
  // pppd: a single authorised address is the one the peer gets.
  if (rules.length === 1 && rules[0].kind === 'address' && !rules[0].negate) rec.pinnedAddress = rules[0].address;
  return undefined;
}
