// Public face of config/: the parsers (I/O-free) and loadConfig (load.ts, the
// only file here that reads the disk).
export { parseRanges, MAX_RANGE_ADDRESSES } from './ranges.js';
export { parseIPv4, formatIPv4 } from './ipv4.js';
export { parsePptpdConf, type PptpdConfig, type PptpdOverrides } from './pptpd-conf.js';
export {
  parsePppOptions, parsePppOptionFiles, emptyPppOptions, authMethods, mppePolicy,
  type PppOptions, type MppePolicy, type PppAuthName,
} from './ppp-options.js';
export { parseSecrets, type SecretRecord, type SecretsFile } from './chap-secrets.js';
export { loadConfig, diskFileSystem, type LoadConfigOptions, type LoadedConfig, type FileSystem } from './load.js';
export { describeEffective, describeAuth, describeMppe } from './effective.js';
