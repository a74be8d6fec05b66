// bench/kclient CLI: a kernel-mode PPTP client (runs as root where the PPP
// modules are, e.g. inside a UML guest):
//
//   node dist/bench/kclient/main.js --server IP --user U --password P
//        [--mtu 1400] [--sessions N] [--out FILE] [--bind IP] [--stateful]
//
// When every link is up it writes one line per session,
// "ifname local remote setup-ms", then "all-up N MS" (to stdout, or
// atomically to --out FILE), and stays up until SIGTERM/SIGINT; then it hangs
// up cleanly (LCP Terminate, Call-Clear-Request, StopCCRQ) and exits 0.
// Exit 1 when a link did not come up (the reason on stderr), 2 for bad usage,
// 3 when a link dropped while up. The password may come from
// $KCLIENT_PASSWORD instead of the command line.
import { renameSync, writeFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { parseArgs } from 'node:util';
import { loadNative } from '../../native/index.js';
import { createLogger } from '../../src/util/log.js';
import { runKClient } from './client.js';
import type { KClientNative } from './session.js';

const USAGE = 'usage: kclient --server IP --user U --password P [--mtu N] [--sessions N] [--per-connection N] [--out FILE] [--bind IP] [--stateful] [--log-level L]';

function die(msg: string, code: number): never {
  process.stderr.write(`kclient: ${msg}\n`);
  process.exit(code);
}

function int(v: string | undefined, name: string, dflt: number): number {
  if (v === undefined) return dflt;
  const n = Number(v);
  if (!/^\d+$/.test(v) || !Number.isSafeInteger(n)) die(`--${name} must be a whole number\n${USAGE}`, 2);
  return n;
}

async function main(): Promise<void> {
  let a: ReturnType<typeof parse>;
  function parse() {
    return parseArgs({
      options: {
        server: { type: 'string' },
        port: { type: 'string' },
        user: { type: 'string' },
        password: { type: 'string' },
        mtu: { type: 'string' },
        sessions: { type: 'string' },
        'per-connection': { type: 'string' },
        out: { type: 'string' },
        bind: { type: 'string' },
        stateful: { type: 'boolean' },
        'log-level': { type: 'string' },
        help: { type: 'boolean' },
      },
      strict: true,
    }).values;
  }
  try {
    a = parse();
  } catch (e) {
    die(`${(e as Error).message}\n${USAGE}`, 2);
  }
  if (a.help) {
    process.stdout.write(`${USAGE}\n`);
    return;
  }
  const password = a.password ?? process.env.KCLIENT_PASSWORD;
  if (!a.server || !a.user || password === undefined) die(`--server, --user and --password are required\n${USAGE}`, 2);
  const log = createLogger({ level: (a['log-level'] as 'info') ?? 'warn', destination: process.stderr, format: 'json' });
  const native = (process.env.PPTPD_NATIVE_PATH
    ? createRequire(import.meta.url)(process.env.PPTPD_NATIVE_PATH)
    : loadNative()) as unknown as KClientNative;
  const sessions = int(a.sessions, 'sessions', 1);
  let dropped = false;
  let run: Awaited<ReturnType<typeof runKClient>>;
  try {
    run = await runKClient({
      native,
      log,
      server: a.server,
      port: int(a.port, 'port', 1723),
      bind: a.bind,
      user: a.user,
      password,
      sessions,
      perConnection: int(a['per-connection'], 'per-connection', 1),
      mtu: int(a.mtu, 'mtu', 1500),
      stateful: a.stateful ?? false,
      onDropped: (i, reason) => {
        dropped = true;
        process.stderr.write(`kclient: session ${i} dropped: ${reason}\n`);
      },
    });
  } catch (e) {
    die(`link did not come up: ${(e as Error).message}`, 1);
  }
  const lines = run.links.map((l) => `${l.ifname} ${l.local} ${l.remote} ${l.setupMs.toFixed(0)}`);
  lines.push(`all-up ${sessions} ${run.allUpMs.toFixed(0)}`);
  const text = `${lines.join('\n')}\n`;
  if (a.out) {
    writeFileSync(`${a.out}.tmp`, text);
    renameSync(`${a.out}.tmp`, a.out);
  } else {
    process.stdout.write(text);
  }
  await new Promise<void>((resolve) => {
    process.once('SIGTERM', resolve);
    process.once('SIGINT', resolve);
  });
  await run.close(5000);
  process.stderr.write('kclient: hung up\n');
  process.exit(dropped ? 3 : 0);
}

await main();
