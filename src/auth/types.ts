// The contract between secret back-ends (chap-secrets now, RADIUS later) and
// the PPP authentication protocols.

/** One allowed-address rule from the secrets file's address column. */
export type AddressRule =
  | { kind: 'any' }                                   // `*`
  | { kind: 'none' }                                  // `-`: no address may be used
  | { kind: 'address'; address: string; negate: boolean }          // `10.0.0.5`, `!10.0.0.5`
  | { kind: 'subnet'; address: string; prefix: number; negate: boolean }; // `10.0.0.0/24`, `!…`

export interface SecretEntry {
  /** The client (user) name as authenticated. */
  client: string;
  /** The server column that matched (may be `*`). */
  server: string;
  /** Plaintext secret (MS-CHAP needs it; never log it). */
  secret: string;
  /** Address column; empty means "any" for pppd. */
  addresses: AddressRule[];
  /** A single plain address pins the client to it (overrides the pool). */
  pinnedAddress?: string;
  /** Where it came from, for log lines: "file:line". */
  source: string;
}

export interface AuthBackend {
  /**
   * Finds the secret the peer `client` must prove when we are `server`
   * (our `name` option). Resolves undefined when no entry matches.
   */
  lookup(client: string, server: string): Promise<SecretEntry | undefined>;
}
