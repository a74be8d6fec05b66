// Errors with stable codes. Everything that parses input from the network or
// a file throws one of these, never a bare Error or a RangeError.

export class PptpdError extends Error {
  constructor(readonly code: string, message: string) {
    super(message);
    this.name = new.target.name;
  }
}

/** A configuration problem, located at file:line (line 0 = whole file). */
export class ConfigError extends PptpdError {
  constructor(readonly file: string, readonly line: number, readonly problem: string) {
    super('ERR_CONFIG', line > 0 ? `${file}:${line}: ${problem}` : `${file}: ${problem}`);
  }
}

/** Bad bytes from the wire. `code` names the exact failure (ERR_PPTP_MAGIC…). */
export class ProtocolError extends PptpdError {}

/** Many config errors at once, so --check can print them all. */
export class ConfigErrors extends PptpdError {
  constructor(readonly errors: ConfigError[]) {
    super('ERR_CONFIG', errors.map((e) => e.message).join('\n'));
  }
}
