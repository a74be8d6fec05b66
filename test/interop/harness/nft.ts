// nftables rules inside a TestNet's namespace (the host side, where our
// daemon runs), to drop GRE for one client: all of it (GRE stopped while TCP
// stays up), a random percentage (loss; the host kernel has no netem), or
// only frames of one PPP protocol (a client that stalls mid-negotiation).
// Each rule set is a table of its own; remove() deletes it.
import type { TestNet } from './uml.js';

let tableCounter = 0;

export interface GreDrop {
  /** The client's outer address: only its GRE is touched. */
  client: string;
  /** Drop this percentage (1–99) at random instead of everything. */
  percent?: number;
  /** Directions; default both. */
  direction?: 'from-client' | 'to-client' | 'both';
  /**
   * Drop only GRE whose PPP payload carries this protocol (e.g. 0xc223 CHAP).
   * Matched right after a 12- or 16-byte GRE header (with or without an
   * acknowledgment), with or without the FF 03 address/control bytes.
   */
  pppProtocol?: number;
}

const IPV4 = /^\d{1,3}(\.\d{1,3}){3}$/;

export class NftTable {
  private constructor(readonly net: TestNet, readonly name: string) {}

  /** Installs drop rules for one client's GRE. */
  static async dropGre(net: TestNet, o: GreDrop): Promise<NftTable> {
    if (!IPV4.test(o.client)) throw new Error(`bad address ${o.client}`);
    if (o.percent !== undefined && (!Number.isInteger(o.percent) || o.percent < 1 || o.percent > 99)) throw new Error('bad percent');
    const name = `robust_${process.pid}_${++tableCounter}`;
    const dir = o.direction ?? 'both';
    const loss = o.percent !== undefined ? ` numgen random mod 100 < ${o.percent}` : '';
    const matches: string[] = [];
    if (o.pppProtocol !== undefined) {
      const p = `0x${o.pppProtocol.toString(16).padStart(4, '0')}`;
      const pa = `0xff03${o.pppProtocol.toString(16).padStart(4, '0')}`;
      // GRE header 12 bytes (seq, no ack) or 16 (seq + ack); payload starts there.
      for (const off of [96, 128]) {
        matches.push(` @th,${off},16 ${p}`, ` @th,${off},32 ${pa}`);
      }
    } else {
      matches.push('');
    }
    const lines = [`table ip ${name} {`];
    if (dir !== 'to-client') {
      lines.push('  chain in { type filter hook input priority -10; policy accept;');
      for (const m of matches) lines.push(`    ip saddr ${o.client} ip protocol gre${m}${loss} counter drop`);
      lines.push('  }');
    }
    if (dir !== 'from-client') {
      lines.push('  chain out { type filter hook output priority -10; policy accept;');
      for (const m of matches) lines.push(`    ip daddr ${o.client} ip protocol gre${m}${loss} counter drop`);
      lines.push('  }');
    }
    lines.push('}', '');
    const r = await net.exec(['nft', '-f', '-'], { input: lines.join('\n') });
    if (r.code !== 0) throw new Error(`nft failed: ${r.stderr}\n${lines.join('\n')}`);
    return new NftTable(net, name);
  }

  /** Packets dropped so far by this table's rules. */
  async dropped(): Promise<number> {
    const r = await this.net.exec(['nft', 'list', 'table', 'ip', this.name]);
    let n = 0;
    for (const m of r.stdout.matchAll(/counter packets (\d+)/g)) n += Number(m[1]);
    return n;
  }

  async remove(): Promise<void> {
    await this.net.exec(['nft', 'delete', 'table', 'ip', this.name]);
  }
}
