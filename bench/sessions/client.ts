// The load-generator side of bench/sessions/run.ts, a process of its own in
// the client namespace. argv[2] is a JSON LoadOptions subset. Protocol on
// stdio, one line each: we print `SETTLED {progress}` once every session has
// settled, then wait for any line on stdin (the parent has measured the
// daemon) before tearing down; finally `SUMMARY {LoadSummary}`.
import { createInterface } from 'node:readline';
import { runLoad, type LoadOptions } from '../loadgen/run.js';

interface ClientArgs {
  server: string;
  bind: string;
  sessions: number;
  concurrency: number;
  perConnection: number;
  user: string;
  setupTimeoutMs: number;
}

const a = JSON.parse(process.argv[2] ?? '{}') as ClientArgs;
const password = process.env.BENCH_PASSWORD;
if (!password) throw new Error('BENCH_PASSWORD is not set');

const lines = createInterface({ input: process.stdin });
const nextLine = (): Promise<void> => new Promise((resolve) => lines.once('line', () => resolve()));

const opts: LoadOptions = {
  server: a.server,
  bind: a.bind,
  sessions: a.sessions,
  concurrency: a.concurrency,
  perConnection: a.perConnection,
  users: [{ user: a.user, password }],
  setupTimeoutMs: a.setupTimeoutMs,
  // Long enough that closing 10,000 sessions never hits it.
  closeTimeoutMs: 120_000,
  mppe: 'required',
  auth: ['mschapv2'],
  onProgress: (p) => process.stderr.write(`  loadgen ${(p.elapsedMs / 1000).toFixed(1)} s: ${p.up} up, ${p.failed} failed\n`),
  progressIntervalMs: 2000,
  afterAllSettled: async (p) => {
    process.stdout.write(`SETTLED ${JSON.stringify(p)}\n`);
    await nextLine();
  },
};
const summary = await runLoad(opts);
process.stdout.write(`SUMMARY ${JSON.stringify(summary)}\n`);
lines.close();
process.exit(0);
