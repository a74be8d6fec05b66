// pptpd's command line: every poptop flag with its long form, plus ours.
import { Command, Option, InvalidArgumentError } from 'commander';
import { DEFAULT_CHAP_SECRETS, DEFAULT_CONF, DEFAULT_CONTROL_SOCKET, VERSION } from './defaults.js';
import { DEFAULT_SPEED, DEFAULT_STIMEOUT, MAX_SPEED, MAX_STIMEOUT } from '../config/pptpd-conf.js';

export interface CliOptions {
  conf: string;
  confGiven: boolean;
  bcrelay?: string;
  debug: boolean;
  ppp?: string;
  fg: boolean;
  noipparam: boolean;
  listen: string[];
  option?: string;
  pidfile?: string;
  speed?: number;
  stimeout?: number;
  logwtmp: boolean;
  connections?: number;
  delegate: boolean;
  vrf?: string;
  check: boolean;
  chapSecrets: string;
  datapath: 'auto' | 'kernel' | 'tun';
  controlSocket: string;
  logFormat?: 'json' | 'pretty';
  demo: boolean;
}

function int(name: string, min: number, max: number) {
  return (v: string): number => {
    const n = Number(v);
    if (!/^\d+$/.test(v) || n < min || n > max) throw new InvalidArgumentError(`${name} must be a whole number from ${min} to ${max}`);
    return n;
  };
}

function collect(v: string, prev: string[]): string[] {
  return [...prev, v];
}

export function buildPptpdCommand(): Command {
  return new Command('pptpd')
    .description('PPTP VPN server: a drop-in replacement for poptop pptpd (+ pppd) in one process')
    .version(VERSION, '-v, --version', 'print the version and exit')
    .helpOption('-h, --help', 'print this help and exit')
    .option('-c, --conf <file>', `pptpd.conf to read (default ${DEFAULT_CONF})`)
    .option('--config <file>', 'alias of --conf (the form the systemd unit uses)')
    .option('-b, --bcrelay <if>', 'relay broadcasts from this interface to clients (poptop bcrelay)')
    .option('-d, --debug', 'log debug messages (like pptpd.conf `debug`)', false)
    .option('-e, --ppp <file>', 'pppd program (poptop; meaningless here: PPP runs in this process)')
    .option('-f, --fg', 'stay in the foreground (default when run by systemd)', false)
    .option('-i, --noipparam', 'do not pass the client address to ip-up as ipparam', false)
    .option('-l, --listen <ip>', 'listen on this address (repeatable; default all)', collect, [] as string[])
    .option('-o, --option <file>', 'pppd options file (default: `option` in pptpd.conf, else /etc/ppp/options.pptpd)')
    .option('-p, --pidfile <file>', 'write the daemon pid here')
    // Same ranges as the pptpd.conf directives (one constant each, so they cannot drift).
    .option('-s, --speed <bps>', `speed passed to ip-up (default ${DEFAULT_SPEED})`, int('speed', 1, MAX_SPEED))
    .option('-t, --stimeout <sec>', `close control connections that send no request within this time (default ${DEFAULT_STIMEOUT}; 0: the file's value or the default)`, int('stimeout', 0, MAX_STIMEOUT))
    .option('-w, --logwtmp', 'write wtmp records for sessions', false)
    .option('-C, --connections <n>', 'maximum concurrent calls (default 100, at most the pool size)', int('connections', 1, 65535))
    .option('-D, --delegate', 'leave address assignment to the secrets file / RADIUS (poptop delegate)', false)
    .option('-V, --vrf <name>', 'bind the listener to this VRF')
    .option('--check', 'validate every configuration file, print the effective configuration and exit', false)
    .option('--chap-secrets <file>', 'secrets file for CHAP and MS-CHAP', DEFAULT_CHAP_SECRETS)
    .addOption(new Option('--datapath <kind>', 'kernel PPP, userspace TUN, or the best available').choices(['auto', 'kernel', 'tun']).default('auto'))
    .option('--control-socket <path>', 'unix socket for pptpctl', DEFAULT_CONTROL_SOCKET)
    .addOption(new Option('--log-format <format>', 'log line format (default: pretty on a terminal, else json)').choices(['json', 'pretty']))
    .option('--demo', 'run on an embedded default configuration with a random password for user "demo"', false);
}

/** Parses argv (as process.argv) into typed options. Throws commander errors. */
export function parseCli(argv: string[], cmd = buildPptpdCommand()): CliOptions {
  cmd.exitOverride();
  cmd.parse(argv);
  const o = cmd.opts<Record<string, unknown>>();
  const conf = (o.config as string | undefined) ?? (o.conf as string | undefined);
  return {
    conf: conf ?? DEFAULT_CONF,
    confGiven: conf !== undefined,
    bcrelay: o.bcrelay as string | undefined,
    debug: o.debug as boolean,
    ppp: o.ppp as string | undefined,
    fg: o.fg as boolean,
    noipparam: o.noipparam as boolean,
    listen: o.listen as string[],
    option: o.option as string | undefined,
    pidfile: o.pidfile as string | undefined,
    speed: o.speed as number | undefined,
    stimeout: o.stimeout as number | undefined,
    logwtmp: o.logwtmp as boolean,
    connections: o.connections as number | undefined,
    delegate: o.delegate as boolean,
    vrf: o.vrf as string | undefined,
    check: o.check as boolean,
    chapSecrets: o.chapSecrets as string,
    datapath: o.datapath as CliOptions['datapath'],
    controlSocket: o.controlSocket as string,
    logFormat: o.logFormat as CliOptions['logFormat'],
    demo: o.demo as boolean,
  };
}

export { DEFAULT_CONTROL_SOCKET };
