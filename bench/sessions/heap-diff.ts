// `tsx bench/sessions/heap-diff.ts before.heapsnapshot up.heapsnapshot N [top] [--by-holder]`:
// what the daemon's heap gained per session between two V8 heap snapshots
// (bench:sessions --heap writes them). Groups nodes by type + constructor /
// name, sums self sizes and counts, prints the top growers divided by N.
// Self sizes, not retained ones: a per-session Map shows up as its backing
// store ("(system)"/"array") as well as the Map object. Not a test.
//
// --by-holder: only objects that are new in the second snapshot (node ids are
// stable within one process), grouped by "what : edge ← holder", where the
// holder is the first strong retainer. Answers "whose is this Object /
// closure / Context / Uint8Array?" without opening DevTools.
import { readFileSync } from 'node:fs';

interface Snapshot {
  snapshot: {
    meta: {
      node_fields: string[];
      node_types: [string[]];
      edge_fields: string[];
      edge_types: [string[]];
    };
  };
  nodes: number[];
  edges: number[];
  strings: string[];
}

function load(path: string): Snapshot {
  return JSON.parse(readFileSync(path, 'utf8')) as Snapshot;
}

function nodeLabel(s: Snapshot, i: number): string {
  const f = s.snapshot.meta.node_fields;
  const types = s.snapshot.meta.node_types[0];
  const type = types[s.nodes[i + f.indexOf('type')]!]!;
  let name = s.strings[s.nodes[i + f.indexOf('name')]!] ?? '?';
  // Strings and numbers by value would be one row each: group them by type.
  if (type === 'string' || type === 'concatenated string' || type === 'sliced string' || type === 'number') name = '';
  if (name.length > 60) name = name.slice(0, 57) + '...';
  return `${type}:${name}`;
}

function tally(s: Snapshot): Map<string, { bytes: number; count: number }> {
  const f = s.snapshot.meta.node_fields;
  const width = f.length;
  const iSize = f.indexOf('self_size');
  const out = new Map<string, { bytes: number; count: number }>();
  for (let i = 0; i < s.nodes.length; i += width) {
    const key = nodeLabel(s, i);
    const e = out.get(key);
    if (e) {
      e.bytes += s.nodes[i + iSize]!;
      e.count++;
    } else out.set(key, { bytes: s.nodes[i + iSize]!, count: 1 });
  }
  return out;
}

function ids(s: Snapshot): Set<number> {
  const f = s.snapshot.meta.node_fields;
  const iId = f.indexOf('id');
  const out = new Set<number>();
  for (let i = 0; i < s.nodes.length; i += f.length) out.add(s.nodes[i + iId]!);
  return out;
}

/** New nodes of `after` grouped by label, edge name and the label of their first strong retainer. */
function byHolder(before: Set<number>, s: Snapshot): Map<string, { bytes: number; count: number }> {
  const m = s.snapshot.meta;
  const nf = m.node_fields.length;
  const ef = m.edge_fields.length;
  const iId = m.node_fields.indexOf('id');
  const iSize = m.node_fields.indexOf('self_size');
  const iEdges = m.node_fields.indexOf('edge_count');
  const eType = m.edge_fields.indexOf('type');
  const eName = m.edge_fields.indexOf('name_or_index');
  const eTo = m.edge_fields.indexOf('to_node');
  const edgeTypes = m.edge_types[0];
  const weak = edgeTypes.indexOf('weak');
  const nodeCount = s.nodes.length / nf;
  // First strong retainer of each node: holder node index and edge label.
  const holder = new Int32Array(nodeCount).fill(-1);
  const holderEdge = new Array<string>(nodeCount);
  let e = 0;
  for (let i = 0; i < s.nodes.length; i += nf) {
    const n = s.nodes[i + iEdges]!;
    for (let k = 0; k < n; k++, e += ef) {
      const t = s.edges[e + eType]!;
      if (t === weak) continue;
      const to = s.edges[e + eTo]! / nf;
      if (holder[to] !== -1) continue;
      const tn = edgeTypes[t];
      const raw = s.edges[e + eName]!;
      holder[to] = i;
      holderEdge[to] = tn === 'element' || tn === 'hidden' ? `[${tn}]` : (s.strings[raw] ?? String(raw));
    }
  }
  const out = new Map<string, { bytes: number; count: number }>();
  for (let j = 0; j < nodeCount; j++) {
    const i = j * nf;
    if (before.has(s.nodes[i + iId]!)) continue;
    const h = holder[j]!;
    let edge = holderEdge[j] ?? '';
    if (edge.length > 30) edge = edge.slice(0, 27) + '...';
    const key = `${nodeLabel(s, i)}  .${edge} ← ${h >= 0 ? nodeLabel(s, h) : '(root)'}`;
    const v = out.get(key);
    if (v) {
      v.bytes += s.nodes[i + iSize]!;
      v.count++;
    } else out.set(key, { bytes: s.nodes[i + iSize]!, count: 1 });
  }
  return out;
}

const flags = process.argv.slice(2).filter((x) => x.startsWith('--'));
const [a, b, nArg, topArg] = process.argv.slice(2).filter((x) => !x.startsWith('--'));
if (!a || !b || !nArg) {
  console.error('usage: heap-diff.ts before.heapsnapshot after.heapsnapshot sessions [top=40] [--by-holder]');
  process.exit(2);
}
const n = Number(nArg);
const top = Number(topArg ?? 40);
const sa = load(a);
const sb = load(b);

if (flags.includes('--by-holder')) {
  const groups = byHolder(ids(sa), sb);
  const rows = [...groups].map(([key, v]) => ({ key, ...v })).sort((x, y) => y.bytes - x.bytes);
  const total = rows.reduce((t, r) => t + r.bytes, 0);
  console.log(`objects new in the second snapshot: ${(total / n).toFixed(0)} B per session (${n} sessions; includes garbage not yet collected)`);
  console.log('  B/session  objects/session  type:name  .edge ← holder');
  for (const r of rows.slice(0, top)) {
    console.log(`${(r.bytes / n).toFixed(0).padStart(11)}  ${(r.count / n).toFixed(2).padStart(15)}  ${r.key}`);
  }
} else {
  const before = tally(sa);
  const after = tally(sb);
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
  for (const r of rows.slice(0, top)) {
    console.log(`${(r.bytes / n).toFixed(0).padStart(11)}  ${(r.count / n).toFixed(2).padStart(15)}  ${r.key}`);
  }
}
