// Just enough of man(7) roff to check our pages against the programs: the
// tag line of every .TP paragraph with the .SH/.SS it sits under, and the
// words of a tag by font (bold = a name, italic = an argument placeholder).
// Not a roff renderer; the pages are written so their tags read this way.

export interface Tag {
  section: string;
  subsection: string;
  /** 1-based line of the tag in the source. */
  line: number;
  /** The tag line as written. */
  raw: string;
  /** The tag as plain text: macros and font escapes gone, \- as -. */
  text: string;
}

/** A macro's arguments: words, or "quoted strings" ("" inside stands for "). */
function macroArgs(rest: string): string[] {
  const out: string[] = [];
  let i = 0;
  while (i < rest.length) {
    while (rest[i] === ' ') i++;
    if (i >= rest.length) break;
    if (rest[i] === '"') {
      let s = '';
      i++;
      while (i < rest.length) {
        if (rest[i] === '"' && rest[i + 1] === '"') { s += '"'; i += 2; continue; }
        if (rest[i] === '"') { i++; break; }
        s += rest[i++];
      }
      out.push(s);
    } else {
      let s = '';
      while (i < rest.length && rest[i] !== ' ') s += rest[i++];
      out.push(s);
    }
  }
  return out;
}

/** Escapes we use, as the characters they print. */
function unescape(s: string): string {
  return s
    .replace(/\\f[BIRP]/g, '')
    .replace(/\\-/g, '-')
    .replace(/\\\(em/g, '--')
    .replace(/\\\(dq/g, '"')
    .replace(/\\&/g, '')
    .replace(/\\e/g, '\\');
}

/** One source line as the text it prints (font macros joined as roff joins them). */
export function plainLine(line: string): string {
  const m = /^\.(B|I|BR|RB|BI|IB|IR|RI)(?:\s+(.*))?$/.exec(line);
  if (!m) return unescape(line);
  const args = macroArgs(m[2] ?? '');
  // .B and .I join their words with spaces; the alternating ones without.
  return unescape(m[1].length === 1 ? args.join(' ') : args.join(''));
}

/** Every .TP tag of a page with the section and subsection it belongs to. */
export function tags(src: string): Tag[] {
  const lines = src.split('\n');
  const out: Tag[] = [];
  let section = '';
  let subsection = '';
  for (let i = 0; i < lines.length; i++) {
    const l = lines[i];
    const sh = /^\.(SH|SS)\s+(.*)$/.exec(l);
    if (sh) {
      const name = macroArgs(sh[2]).join(' ');
      if (sh[1] === 'SH') { section = name; subsection = ''; } else subsection = name;
      continue;
    }
    if (l !== '.TP') continue;
    let j = i + 1;
    while (j < lines.length && lines[j].startsWith('.\\"')) j++;
    const raw = lines[j] ?? '';
    out.push({ section, subsection, line: j + 1, raw, text: plainLine(raw) });
  }
  return out;
}

export interface TagEntry {
  name: string;
  args: string[];
}

/**
 * The names in a tag written as `\fBname\fR \fIarg\fR, \fBother\fR`: each
 * bold word starts an entry, each italic word is an argument of the last one.
 */
export function tagEntries(raw: string): TagEntry[] {
  const out: TagEntry[] = [];
  let font = 'R';
  const parts = raw.split(/(\\f[BIRP])/);
  for (const p of parts) {
    const f = /^\\f([BIRP])$/.exec(p);
    if (f) { font = f[1] === 'P' ? 'R' : f[1]; continue; }
    for (const w of unescape(p).split(/[\s,]+/).filter(Boolean)) {
      if (font === 'B') out.push({ name: w, args: [] });
      else if (font === 'I' && out.length > 0) out[out.length - 1].args.push(w);
    }
  }
  return out;
}

/** Long options (--name) in a piece of text. */
export function longOptions(text: string): string[] {
  return [...text.matchAll(/(?<![\w-])--[a-z][a-z0-9-]*/g)].map((m) => m[0]);
}

/** The option flags of commander help output: `-c, --conf <file>` → ['-c', '--conf']. */
export function helpFlags(help: string): Array<{ short?: string; long: string }> {
  const out: Array<{ short?: string; long: string }> = [];
  for (const l of help.split('\n')) {
    const m = /^ {2}(?:(-[A-Za-z]), )?(--[a-z][a-z0-9-]*)/.exec(l);
    if (m) out.push({ ...(m[1] && { short: m[1] }), long: m[2] });
  }
  return out;
}

/** The command names of commander help output (the "Commands:" block). */
export function helpCommands(help: string): string[] {
  const block = /^Commands:\n((?: {2}.*\n?)*)/m.exec(help);
  if (!block) return [];
  return block[1].split('\n').map((l) => /^ {2}([a-z][\w-]*)/.exec(l)?.[1]).filter((x): x is string => x !== undefined);
}
