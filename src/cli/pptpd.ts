#!/usr/bin/env node
// pptpd: parse the command line, then check, detach or run.
import { spawn } from 'node:child_process';
import { openSync } from 'node:fs';
import { CommanderError } from 'commander';
import { parseCli, type CliOptions } from './options.js';
import { isMainModule } from '../util/main-module.js';

/** poptop forks unless -f; systemd (Type=notify) and a terminal user pass --fg. */
function underSystemd(): boolean {
  return Boolean(process.env.NOTIFY_SOCKET || process.env.INVOCATION_ID);
}

/** Re-runs ourselves with --fg in a new session; logs go to /var/log/pptpd.log. */
function detach(argv: string[]): number {
  const out = openSync('/var/log/pptpd.log', 'a', 0o640);
  const child = spawn(process.execPath, [...process.execArgv, argv[1], '--fg', ...argv.slice(2)], {
    detached: true,
    stdio: ['ignore', out, out],
  });
  child.unref();
  process.stdout.write(`pptpd: running in the background as pid ${child.pid} (log: /var/log/pptpd.log)\n`);
  return 0;
}

export async function main(argv: string[]): Promise<number> {
  let cli: CliOptions;
  try {
    cli = parseCli(argv);
  } catch (e) {
    if (e instanceof CommanderError) return e.exitCode;
    throw e;
  }
  const { runCheck, startDaemon } = await import('../daemon.js');
  if (cli.check) return runCheck(cli, process.stdout, process.stderr);
  if (!cli.fg && !underSystemd()) return detach(argv);
  let d;
  try {
    d = await startDaemon(cli);
  } catch (e) {
    process.stderr.write(`pptpd: ${(e as Error).message}\n`);
    return 1;
  }
  return d.done;
}

if (isMainModule(import.meta.url)) {
  main(process.argv).then(
    (code) => process.exit(code),
    (e: Error) => {
      process.stderr.write(`pptpd: ${e.stack ?? e.message}\n`);
      process.exit(1);
    },
  );
}
