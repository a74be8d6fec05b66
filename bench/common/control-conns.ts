// Ending a bench client's TCP control connections, as Windows and pptp-linux
// do: Stop-Control-Connection-Request on each that is established, then the
// socket closes (destroyed if it lingers past the timeout).
import type { Socket } from 'node:net';
import type { ClientConnection } from '../../src/control/client-connection.js';

export interface BenchControlConn {
  socket: Socket;
  cc: ClientConnection;
  /** Settles when the connection is established (or failed to be). */
  ready: Promise<unknown>;
}

export async function closeControlConns(conns: readonly BenchControlConn[], timeoutMs: number): Promise<void> {
  await Promise.all(conns.map(async (c) => {
    await c.ready.catch(() => {});
    if (c.cc.state === 'established') await c.cc.stop(1);
    c.socket.end();
  }));
  await Promise.all(conns.map((c) => new Promise<void>((r) => {
    if (c.socket.destroyed || c.socket.closed) return r();
    const t = setTimeout(() => {
      c.socket.destroy();
      r();
    }, timeoutMs);
    c.socket.once('close', () => {
      clearTimeout(t);
      r();
    });
  })));
}
