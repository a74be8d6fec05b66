// The pptpctl ↔ daemon protocol: one JSON request line, one JSON reply line,
// over a root-only unix socket.
import type { SessionInfo } from '../session/types.js';

export const MAX_LINE = 64 * 1024;

/** One row of `pptpctl show sessions`: the session layer's own record. */
export type SessionView = SessionInfo;

export type MgmtRequest =
  | { cmd: 'sessions' }
  | { cmd: 'kill'; target: string }
  | { cmd: 'reload' }
  | { cmd: 'stats' };

export type MgmtReply =
  | { ok: true; sessions?: SessionView[]; killed?: number; stats?: Record<string, unknown>; message?: string }
  | { ok: false; error: string };

export function parseRequest(line: string): MgmtRequest {
  if (line.length > MAX_LINE) throw new Error('request too long');
  const o = JSON.parse(line) as Record<string, unknown>;
  switch (o.cmd) {
    case 'sessions':
    case 'reload':
    case 'stats':
      return { cmd: o.cmd };
    case 'kill':
      if (typeof o.target !== 'string' || o.target.length === 0 || o.target.length > 256) {
        throw new Error('kill needs a target: an ifname, a user or an address');
      }
      return { cmd: 'kill', target: o.target };
    default:
      throw new Error(`unknown command ${JSON.stringify(o.cmd)}`);
  }
}

function uptime(ms: number): string {
  const s = Math.max(0, Math.floor(ms / 1000));
  const h = Math.floor(s / 3600), m = Math.floor((s % 3600) / 60);
  return `${h}:${String(m).padStart(2, '0')}:${String(s % 60).padStart(2, '0')}`;
}

/** The table `pptpctl show sessions` prints. */
export function formatSessions(list: SessionView[], now = Date.now()): string {
  const head = ['IFNAME', 'USER', 'PEER', 'CLIENT', 'CALL', 'UPTIME', 'RX', 'TX', 'MPPE'];
  const rows = list.map((s) => [
    s.ifname || '-', s.user || '-', s.peer || '-', s.client, `${s.callId}/${s.peerCallId}`,
    uptime(now - s.startedAt), String(s.rxBytes), String(s.txBytes), s.mppe,
  ]);
  const widths = head.map((h, i) => Math.max(h.length, ...rows.map((r) => r[i].length)));
  const line = (r: string[]) => r.map((c, i) => c.padEnd(widths[i])).join('  ').trimEnd();
  return [line(head), ...rows.map(line)].join('\n') + '\n';
}
