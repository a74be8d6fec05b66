// The one part of config/ that touches the disk. Reads pptpd.conf, the pppd
// options files and the secrets files through a small FileSystem indirection
// (tests point it at test/fixtures/config), then hands text to the I/O-free
// parsers. Everything is read as latin1: pppd compares names and secrets as
// bytes, and latin1 keeps one character per byte.
//
// Which files, as poptop + pppd do it:
//  - pptpd.conf (confPath);
//  - /etc/ppp/options first (pppd always reads it), then the file named by
//    `option` (or -o); without one, /etc/ppp/options.pptpd if it exists;
//  - `file F` / `call NAME` includes inside options files;
//  - chap-secrets (and pap-secrets when present); `@/path` secrets; a
//    warning when a secrets file is readable or writable by group/others.
import { readFileSync, statSync } from 'node:fs';
import { ChapSecretsBackend } from '../auth/chap-secrets-backend.js';
import { ConfigError, ConfigErrors } from '../util/errors.js';
import { parseSecrets, type SecretRecord } from './chap-secrets.js';
import { emptyPppOptions, parsePppOptionFiles, type IncludedFile, type PppOptions } from './ppp-options.js';
import { parsePptpdConf, type PptpdConfig, type PptpdOverrides } from './pptpd-conf.js';
import { readWords } from './words.js';

export const SYSTEM_OPTIONS = '/etc/ppp/options';
export const DEFAULT_PPTPD_OPTIONS = '/etc/ppp/options.pptpd';
export const DEFAULT_CHAP_SECRETS = '/etc/ppp/chap-secrets';
export const DEFAULT_PAP_SECRETS = '/etc/ppp/pap-secrets';

export interface FileSystem {
  /** File contents as latin1 text; throws (with .code) when unreadable. */
  readText(path: string): string;
  /** Permission bits, or undefined when the file does not exist. */
  mode(path: string): number | undefined;
}

/** The real disk; `root` prefixes every absolute path (tests use a fixture tree). */
export function diskFileSystem(root = ''): FileSystem {
  const at = (p: string) => (root && p.startsWith('/') ? root + p : p);
  return {
    readText: (p) => readFileSync(at(p), 'latin1'),
    mode: (p) => {
      try { return statSync(at(p)).mode & 0o7777; } catch { return undefined; }
    },
  };
}

export interface LoadConfigOptions {
  confPath: string;
  /** Default /etc/ppp/chap-secrets. */
  chapSecretsPath?: string;
  /** Default /etc/ppp/pap-secrets when it exists; null = do not read. */
  papSecretsPath?: string | null;
  /** pppd's system options file read before the pptpd one; null = skip. */
  systemOptionsPath?: string | null;
  overrides?: PptpdOverrides;
  fs?: FileSystem;
}

export interface LoadedConfig {
  pptpd: PptpdConfig;
  ppp: PppOptions;
  /** Back-end over the secrets files. */
  secrets: ChapSecretsBackend;
  secretEntries: SecretRecord[];
  files: { conf: string; options: string[]; chapSecrets: string; papSecrets?: string };
  /** Every warning of every file, "file:line: text". */
  warnings: string[];
}

/** Reads and validates everything. Throws ConfigErrors listing every problem found. */
export function loadConfig(opts: LoadConfigOptions): LoadedConfig {
  const fs = opts.fs ?? diskFileSystem();
  const errors: ConfigError[] = [];
  const warnings: string[] = [];
  const collect = (e: unknown) => {
    if (e instanceof ConfigErrors) errors.push(...e.errors);
    else if (e instanceof ConfigError) errors.push(e);
    else throw e;
  };
  const read = (path: string): string | undefined => {
    try {
      return fs.readText(path);
    } catch (e) {
      errors.push(new ConfigError(path, 0, `cannot read it (${errnoText(e)})`));
      return undefined;
    }
  };

  // pptpd.conf
  let pptpd: PptpdConfig | undefined;
  const confText = read(opts.confPath);
  if (confText !== undefined) {
    try { pptpd = parsePptpdConf(confText, opts.confPath, opts.overrides); } catch (e) { collect(e); }
  }

  // pppd options
  const optionPath = opts.overrides?.option ?? pptpd?.option
    ?? (fs.mode(DEFAULT_PPTPD_OPTIONS) !== undefined ? DEFAULT_PPTPD_OPTIONS : SYSTEM_OPTIONS);
  const optionFiles: IncludedFile[] = [];
  const sys = opts.systemOptionsPath === undefined ? SYSTEM_OPTIONS : opts.systemOptionsPath;
  if (sys !== null && sys !== optionPath && fs.mode(sys) !== undefined) {
    const t = read(sys);
    if (t !== undefined) optionFiles.push({ text: t, file: sys });
  }
  const optText = read(optionPath);
  if (optText !== undefined) optionFiles.push({ text: optText, file: optionPath });
  let ppp = emptyPppOptions();
  if (optionFiles.length > 0) {
    try {
      ppp = parsePppOptionFiles(optionFiles, {
        include: (p) => ({ text: fs.readText(p), file: p }),
      });
    } catch (e) { collect(e); }
  }

  // secrets
  const chapPath = opts.chapSecretsPath ?? DEFAULT_CHAP_SECRETS;
  const papPath = opts.papSecretsPath === undefined
    ? (fs.mode(DEFAULT_PAP_SECRETS) !== undefined ? DEFAULT_PAP_SECRETS : undefined)
    : opts.papSecretsPath ?? undefined;
  const loadSecrets = (path: string): SecretRecord[] => {
    const t = read(path);
    if (t === undefined) return [];
    checkAccess(fs, path, warnings);
    try {
      const s = parseSecrets(t, path);
      warnings.push(...s.warnings);
      for (const e of s.entries) if (e.secretFile !== undefined) resolveAtFile(fs, e, warnings);
      return s.entries;
    } catch (e) { collect(e); return []; }
  };
  const chap = loadSecrets(chapPath);
  const pap = papPath !== undefined ? loadSecrets(papPath) : [];

  if (errors.length > 0) throw new ConfigErrors(errors);
  warnings.unshift(...pptpd!.warnings, ...ppp.warnings);
  return {
    pptpd: pptpd!,
    ppp,
    secrets: new ChapSecretsBackend(chap, pap),
    secretEntries: [...chap, ...pap],
    files: { conf: opts.confPath, options: ppp.files, chapSecrets: chapPath, ...(papPath ? { papSecrets: papPath } : {}) },
    warnings,
  };
}

/** pppd check_access: secrets must not be open to group or others. */
function checkAccess(fs: FileSystem, path: string, warnings: string[]): void {
  const m = fs.mode(path);
  if (m !== undefined && (m & 0o077) !== 0) {
    warnings.push(`${path}: readable or writable by group/others (mode ${m.toString(8).padStart(4, '0')}); chmod 600 it`);
  }
}

/** `@/path`: the secret is the first word of that file (pppd). Unreadable → entry unusable, warned. */
function resolveAtFile(fs: FileSystem, e: SecretRecord, warnings: string[]): void {
  const path = e.secretFile!;
  let text: string;
  try {
    text = fs.readText(path);
  } catch (err) {
    warnings.push(`${e.source}: cannot read secret file ${path} (${errnoText(err)}); entry for "${e.client}" unusable`);
    return;
  }
  checkAccess(fs, path, warnings);
  let first: string | undefined;
  try { first = readWords(text, path)[0]?.text; } catch { first = undefined; }
  if (first === undefined) {
    warnings.push(`${e.source}: no secret in ${path}; entry for "${e.client}" unusable`);
    return;
  }
  e.secret = first;
  delete e.secretFile;
}

function errnoText(e: unknown): string {
  const code = (e as { code?: unknown })?.code;
  return typeof code === 'string' ? code : e instanceof Error ? e.message : String(e);
}
