// AuthBackend over parsed chap-secrets (and pap-secrets) entries.
// Choice among matching entries, as pppd's scan_authfile: an exact client name
// counts 2, an exact server name 1 (`*` counts 0); the highest score wins and
// the first in the file wins a tie. So `alice pptpd` beats `alice *` beats
// `* pptpd` beats `* *`. chap-secrets is searched first; pap-secrets only when
// chap-secrets has no match (PAP users usually live there alone).
import type { AuthBackend, SecretEntry } from './types.js';
import type { SecretRecord } from '../config/chap-secrets.js';

export class ChapSecretsBackend implements AuthBackend {
  private readonly byClient = new Map<string, SecretRecord[]>();
  private readonly wildClient: SecretRecord[] = [];
  private readonly papByClient = new Map<string, SecretRecord[]>();
  private readonly papWild: SecretRecord[] = [];

  constructor(chap: readonly SecretRecord[], pap: readonly SecretRecord[] = []) {
    index(chap, this.byClient, this.wildClient);
    index(pap, this.papByClient, this.papWild);
  }

  /** Synchronous form (the secrets are in memory). */
  find(client: string, server: string): SecretEntry | undefined {
    return best(this.byClient.get(client), this.wildClient, server)
      ?? best(this.papByClient.get(client), this.papWild, server);
  }

  lookup(client: string, server: string): Promise<SecretEntry | undefined> {
    return Promise.resolve(this.find(client, server));
  }

  get size(): number {
    let n = this.wildClient.length + this.papWild.length;
    for (const l of this.byClient.values()) n += l.length;
    for (const l of this.papByClient.values()) n += l.length;
    return n;
  }
}

function index(list: readonly SecretRecord[], by: Map<string, SecretRecord[]>, wild: SecretRecord[]): void {
  for (const e of list) {
    if (e.secretFile !== undefined) continue; // an unresolved @/file secret is never usable
    if (e.client === '*') { wild.push(e); continue; }
    const l = by.get(e.client);
    if (l) l.push(e); else by.set(e.client, [e]);
  }
}

function best(exact: SecretRecord[] | undefined, wild: SecretRecord[], server: string): SecretEntry | undefined {
  let found: SecretRecord | undefined;
  let score = -1;
  const consider = (list: readonly SecretRecord[] | undefined, clientScore: number) => {
    if (!list) return;
    for (const e of list) {
      const s = e.server === server ? clientScore + 1 : e.server === '*' ? clientScore : -1;
      // Strictly greater: the first entry in the file wins a tie (lists keep file order).
      if (s > score) { found = e; score = s; }
    }
  };
  consider(exact, 2);
  consider(wild, 0);
  if (!found) return undefined;
  return {
    client: found.client,
    server: found.server,
    secret: found.secret,
    addresses: found.addresses,
    ...(found.pinnedAddress !== undefined ? { pinnedAddress: found.pinnedAddress } : {}),
    source: found.source,
  };
}
