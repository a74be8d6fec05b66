// Network namespaces for the native addon's root tests. Each test file gets
// namespaces of its own (`pptpd-test-<pid>-<n>`) so nothing touches the
// host's interfaces.
//
// Decision: the test process enters a namespace with the addon's
// netnsEnter() (setns on the MAIN THREAD) instead of re-running itself under
// `ip netns exec`. That is safe here because every addon call (TUN open,
// ioctls, raw sockets, netlink) runs synchronously on the main thread, and
// child processes spawned from it inherit its namespace. It is NOT safe for
// anything done on libuv's threadpool (fs/dns/crypto async work stays in the
// old namespace) and /sys shows the namespace it was mounted in; so tests
// query state with `ip -n NAME …` (netlink), never /sys.
import { spawnSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import { loadNative } from '../../native/index.js';

let counter = 0;

/** Why root tests cannot run here, or undefined when they can. */
export function rootSkipReason(): string | undefined {
  if (typeof process.getuid !== 'function' || process.getuid() !== 0) {
    return 'SKIPPED: needs root (CAP_NET_ADMIN/CAP_NET_RAW and `ip netns`); run the suite as root to test TUN and raw GRE';
  }
  if (spawnSync('ip', ['-V']).status !== 0) return 'SKIPPED: needs root tools: `ip` (iproute2) is not installed';
  if (!existsSync('/dev/net/tun')) return 'SKIPPED: /dev/net/tun is missing (no TUN support in this kernel/container)';
  return undefined;
}

function run(cmd: string, args: string[]): string {
  const r = spawnSync(cmd, args, { encoding: 'utf8' });
  if (r.status !== 0) {
    throw new Error(`${cmd} ${args.join(' ')} failed (${r.status}): ${r.stderr || r.error?.message}`);
  }
  return r.stdout;
}

export class TestNetns {
  readonly path: string;
  private prevFd: number | undefined;

  private constructor(readonly name: string) {
    this.path = `/run/netns/${name}`;
  }

  /** `ip netns add pptpd-test-<pid>-<n>` with loopback up. */
  static create(): TestNetns {
    const ns = new TestNetns(`pptpd-test-${process.pid}-${counter++}`);
    run('ip', ['netns', 'add', ns.name]);
    ns.ip('link', 'set', 'lo', 'up');
    return ns;
  }

  /** Runs `ip -n NAME args…` and returns stdout; throws on failure. */
  ip(...args: string[]): string {
    return run('ip', ['-n', this.name, ...args]);
  }

  /** Runs `ip -n NAME -j args…` and parses the JSON. */
  ipJson<T = unknown>(...args: string[]): T {
    return JSON.parse(this.ip('-j', ...args) || '[]') as T;
  }

  /** Moves the main thread into this namespace (see the file comment). */
  enter(): void {
    if (this.prevFd !== undefined) throw new Error(`already inside ${this.name}`);
    this.prevFd = loadNative().netnsEnter(this.path);
  }

  /** Returns the main thread to the namespace it came from. */
  leave(): void {
    if (this.prevFd === undefined) return;
    const fd = this.prevFd;
    this.prevFd = undefined;
    loadNative().netnsReturn(fd);
  }

  /** Leaves (if inside) and deletes the namespace. */
  destroy(): void {
    this.leave();
    spawnSync('ip', ['netns', 'del', this.name]);
  }
}
