// pppd's word reader (options.c getword), shared by options files and the
// secrets files:
//  - words are separated by whitespace; `#` outside quotes starts a comment to
//    the end of the line (also straight after a word: `foo#bar` is `foo`);
//  - "..." and '...' quote, may span lines, and may be mixed inside one word;
//  - backslash escapes: \\ \" \' \# etc. stand for themselves, \a \b \f \n \r
//    \s (space) \t, \NNN octal (up to 3 digits), \xHH hex (up to 2 digits);
//    backslash-newline is a line continuation (nothing);
//  - each word remembers whether it began a new line (the secrets files use
//    that to split entries).
// Where pppd only warns (a quote running to the end of the file, a word longer
// than its buffer) we stop with an error: truncated secrets are worse.
import { ConfigError } from '../util/errors.js';

/** pppd's MAXWORDLEN. */
export const MAX_WORD_LENGTH = 1024;

export interface Word {
  text: string;
  /** 1-based line where the word starts. */
  line: number;
  /** True when a newline (or the start of the file) precedes the word. */
  newline: boolean;
}

const isSpace = (c: string) => c === ' ' || c === '\t' || c === '\n' || c === '\r' || c === '\f' || c === '\v';
const isOctal = (c: string | undefined) => c !== undefined && c >= '0' && c <= '7';
const isHex = (c: string | undefined) => c !== undefined && /^[0-9a-fA-F]$/.test(c);

const SIMPLE_ESCAPES: Record<string, string> = { a: '\x07', b: '\b', f: '\f', n: '\n', r: '\r', s: ' ', t: '\t' };

/** Splits a whole file into words. Throws ConfigError naming file and line. */
export function readWords(text: string, file: string): Word[] {
  const words: Word[] = [];
  let i = 0;
  let line = 1;
  let newline = true;
  const n = text.length;
  while (i < n) {
    // Skip white space and comments.
    const c = text[i];
    if (c === '\n') { line++; newline = true; i++; continue; }
    if (isSpace(c)) { i++; continue; }
    if (c === '#') {
      while (i < n && text[i] !== '\n') i++;
      continue;
    }
    if (c === '\\' && text[i + 1] === '\n') { i += 2; line++; continue; }
    // A word.
    const startLine = line;
    let out = '';
    let quote = '';
    while (i < n) {
      const ch = text[i];
      if (ch === '\\') {
        i++;
        if (i >= n) throw new ConfigError(file, line, 'backslash at the end of the file');
        const e = text[i];
        if (e === '\n') { line++; i++; continue; }
        if (e in SIMPLE_ESCAPES) { out += SIMPLE_ESCAPES[e]; i++; }
        else if (isOctal(e)) {
          let v = 0, k = 0;
          while (k < 3 && isOctal(text[i])) { v = v * 8 + (text.charCodeAt(i) - 48); i++; k++; }
          out += String.fromCharCode(v & 0xff);
        } else if (e === 'x') {
          i++;
          let v = 0, k = 0;
          while (k < 2 && isHex(text[i])) { v = v * 16 + parseInt(text[i], 16); i++; k++; }
          out += String.fromCharCode(v);
        } else { out += e; i++; }
      } else if (quote) {
        if (ch === quote) quote = '';
        else { out += ch; if (ch === '\n') line++; }
        i++;
      } else if (ch === '"' || ch === "'") {
        quote = ch; i++;
      } else if (isSpace(ch) || ch === '#') {
        break;
      } else {
        out += ch; i++;
      }
      if (out.length > MAX_WORD_LENGTH) {
        throw new ConfigError(file, startLine, `word longer than ${MAX_WORD_LENGTH} characters`);
      }
    }
    if (quote) throw new ConfigError(file, startLine, `unterminated ${quote === '"' ? 'double' : 'single'} quote`);
    words.push({ text: out, line: startLine, newline });
    newline = false;
  }
  return words;
}
