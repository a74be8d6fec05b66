// `tsx bench/cpu-top.ts FILE.cpuprofile [TOP=30]`: self time per function
// (name + file:line) from a V8 CPU profile (node --cpu-prof), highest first,
// as % of all samples. Not a test.
import { readFileSync } from 'node:fs';

interface Node { id: number; callFrame: { functionName: string; url: string; lineNumber: number }; hitCount?: number }
const [file, topArg] = process.argv.slice(2);
if (!file) {
  console.error('usage: cpu-top.ts FILE.cpuprofile [TOP=30]');
  process.exit(2);
}
const prof = JSON.parse(readFileSync(file, 'utf8')) as { nodes: Node[]; samples: number[] };
const byId = new Map(prof.nodes.map((n) => [n.id, n]));
const self = new Map<string, number>();
for (const id of prof.samples) {
  const cf = byId.get(id)!.callFrame;
  const where = cf.url ? `${cf.url.replace(/^.*\/(src|native|bench|node_modules)\//, '$1/')}:${cf.lineNumber + 1}` : '';
  const key = `${cf.functionName || '(anonymous)'} ${where}`;
  self.set(key, (self.get(key) ?? 0) + 1);
}
const total = prof.samples.length;
const rows = [...self.entries()].sort((a, b) => b[1] - a[1]).slice(0, Number(topArg ?? 30));
console.log(`${total} samples`);
for (const [k, v] of rows) console.log(`${((100 * v) / total).toFixed(1).padStart(6)} %  ${k}`);
