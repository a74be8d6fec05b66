#!/usr/bin/env node
// pptpctl: talk to a running pptpd over its control socket.
import { Command } from 'commander';
import { mgmtRequest } from '../mgmt/server.js';
import { formatSessions, type SessionView } from '../mgmt/protocol.js';
import { DEFAULT_CONTROL_SOCKET, VERSION } from './defaults.js';
import { isMainModule } from '../util/main-module.js';

async function call(sock: string, req: object): Promise<Record<string, unknown>> {
  const r = await mgmtRequest(sock, req);
  if (!r.ok) throw new Error(r.error);
  return r as Record<string, unknown>;
}

export function buildPptpctl(): Command {
  const program = new Command('pptpctl')
    .description('Control a running pptpd')
    .version(VERSION, '-v, --version')
    .option('-s, --control-socket <path>', 'the daemon\'s control socket', DEFAULT_CONTROL_SOCKET);
  const sock = () => program.opts<{ controlSocket: string }>().controlSocket;

  program.command('show')
    .description('show sessions')
    .argument('<what>', '"sessions"')
    .option('--json', 'print a JSON array')
    .action(async (what: string, o: { json?: boolean }) => {
      if (what !== 'sessions') throw new Error(`unknown: show ${what} (try: show sessions)`);
      const r = await call(sock(), { cmd: 'sessions' });
      const list = r.sessions as SessionView[];
      process.stdout.write(o.json ? JSON.stringify(list, null, 2) + '\n' : formatSessions(list));
    });
  program.command('kill')
    .description('end the sessions matching an ifname, a user or an address')
    .argument('<target>')
    .action(async (target: string) => {
      const r = await call(sock(), { cmd: 'kill', target });
      process.stdout.write(`killed ${String(r.killed)} session(s)\n`);
    });
  program.command('reload')
    .description('re-read the configuration and secrets (like SIGHUP)')
    .action(async () => {
      await call(sock(), { cmd: 'reload' });
      process.stdout.write('reloaded\n');
    });
  program.command('stats')
    .description('print daemon counters as JSON')
    .action(async () => {
      const r = await call(sock(), { cmd: 'stats' });
      process.stdout.write(JSON.stringify(r.stats, null, 2) + '\n');
    });
  return program;
}

if (isMainModule(import.meta.url)) {
  buildPptpctl().parseAsync(process.argv).catch((e: Error) => {
    process.stderr.write(`pptpctl: ${e.message}\n`);
    process.exit(1);
  });
}
