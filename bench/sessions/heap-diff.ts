// `tsx bench/sessions/heap-diff.ts before.heapsnapshot up.heapsnapshot N`:
// what the daemon's heap gained per session between two V8 heap snapshots
// (bench:sessions --heap writes them). Groups nodes by type + constructor /
// name, sums self sizes and counts, prints the top growers divided by N.
// Self sizes, not retained ones: a per-session Map shows up as its backing
// store ("(system)"/"array") as well as the Map object. Not a test.
import { readFileSync } from 'node:fs';

interface Snapshot {
  snapshot: { meta: { node_fields: string[]; node_types: [string[]] } };
  nodes: number[];
  strings: string[];
}

function tally(path: string): Map<string, { bytes: number; count: number }> {
  const s = JSON.parse(readFileSync(path, 'utf8')) as Snapshot;
  const f = s.snapshot.meta.node_fields;
  const width = f.length;
  const iType = f.indexOf('type');
  const iName = f.indexOf('name');
  const iSize = f.indexOf('self_size');
  const types = s.snapshot.meta.node_types[0];
  const out = new Map<string, { bytes: number; count: number }>();
  for (let i = 0; i < s.nodes.length; i += width) {
    const type = types[s.nodes[i + iType]!]!;
    let name = s.strings[s.nodes[i + iName]!] ?? '?';
    // Strings and numbers by value would be one row each: group them by type.
    if (type === 'string' || type === 'concatenated string' || type === 'sliced string' || type === 'number') name = '';
    if (name.length > 60) name = name.slice(0, 57) + '...';
    const key = `${type}:${name}`;
    const e = out.get(key);
    if (e) {
      e.bytes += s.nodes[i + iSize]!;
      e.count++;
    } else out.set(key, { bytes: s.nodes[i + iSize]!, count: 1 });
  }
  return out;
}

const [a, b, nArg, topArg] = process.argv.slice(2);
if (!a || !b || !nArg) {
  console.error('usage: heap-diff.ts before.heapsnapshot after.heapsnapshot sessions [top=40]');
  process.exit(2);
}
const n = Number(nArg);
const before = tally(a);
const after = tally(b);
const rows: Array<{ key: string; bytes: number; count: number }> = [];
let total = 0;
for (const [key, v] of after) {
  const p = before.get(key) ?? { bytes: 0, count: 0 };
  const bytes = v.bytes - p.bytes;
  total += bytes;
  rows.push({ key, bytes, count: v.count - p.count });
}
for (const [key, p] of before) if (!after.has(key)) total -= p.bytes;
rows.sort((x, y) => y.bytes - x.bytes);
console.log(`heap self size grew ${(total / 1024 / 1024).toFixed(1)} MiB = ${(total / n).toFixed(0)} B per session (${n} sessions)`);
console.log('  B/session  objects/session  type:name');
for (const r of rows.slice(0, Number(topArg ?? 40))) {
  console.log(`${(r.bytes / n).toFixed(0).padStart(11)}  ${(r.count / n).toFixed(2).padStart(15)}  ${r.key}`);
}
