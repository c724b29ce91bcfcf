/**
 * Where a heap snapshot's bytes are: `npx tsx bench/heap-summary.ts FILE.heapsnapshot [top]` sums
 * the nodes' self sizes by type and constructor (what `bench/profile-serve-memory.ts` and
 * `bench/profile-memory.ts` snapshots are read with), by what holds them (the constructor and
 * property of a node's first retainer), and lists the strings held most often.
 */
import { readFileSync } from 'node:fs';

interface HeapSnapshot {
  snapshot: {
    meta: {
      node_fields: string[];
      node_types: [string[], ...unknown[]];
      edge_fields: string[];
      edge_types: [string[], ...unknown[]];
    };
  };
  nodes: number[];
  edges: number[];
  strings: string[];
}

const file = process.argv[2];
if (file === undefined) throw new Error('usage: heap-summary.ts FILE.heapsnapshot [top]');
const top = Number(process.argv[3] ?? 30);
const heap = JSON.parse(readFileSync(file, 'utf8')) as HeapSnapshot;
const fields = heap.snapshot.meta.node_fields;
const types = heap.snapshot.meta.node_types[0];
const width = fields.length;
const typeAt = fields.indexOf('type');
const nameAt = fields.indexOf('name');
const sizeAt = fields.indexOf('self_size');
const groups = new Map<string, { count: number; bytes: number }>();
const strings = new Map<string, { count: number; bytes: number }>();
let total = 0;
for (let i = 0; i < heap.nodes.length; i += width) {
  const type = types[heap.nodes[i + typeAt]!]!;
  const name = heap.strings[heap.nodes[i + nameAt]!]!;
  const size = heap.nodes[i + sizeAt]!;
  total += size;
  const key = type === 'object' || type === 'closure' ? `${type} ${name}` : type;
  const group = groups.get(key) ?? { count: 0, bytes: 0 };
  group.count++;
  group.bytes += size;
  groups.set(key, group);
  if (type === 'string' || type === 'concatenated string' || type === 'sliced string') {
    const text = name.length > 80 ? `${name.slice(0, 80)}…` : name;
    const entry = strings.get(text) ?? { count: 0, bytes: 0 };
    entry.count++;
    entry.bytes += size;
    strings.set(text, entry);
  }
}
const mb = (bytes: number): string => (bytes / 1024 / 1024).toFixed(1).padStart(7);
console.log(`${mb(total)} MB in ${heap.nodes.length / width} nodes`);
for (const [key, group] of [...groups].sort((a, b) => b[1].bytes - a[1].bytes).slice(0, top))
  console.log(`${mb(group.bytes)} MB ${String(group.count).padStart(9)}  ${key}`);
console.log('strings held most often:');
for (const [text, entry] of [...strings].sort((a, b) => b[1].count - a[1].count).slice(0, top))
  console.log(`${mb(entry.bytes)} MB ${String(entry.count).padStart(9)}  ${JSON.stringify(text)}`);

// Who holds what: each node's bytes under its first retainer's constructor and edge name.
const edgeFields = heap.snapshot.meta.edge_fields;
const edgeTypes = heap.snapshot.meta.edge_types[0];
const edgeWidth = edgeFields.length;
const edgeTypeAt = edgeFields.indexOf('type');
const edgeNameAt = edgeFields.indexOf('name_or_index');
const edgeToAt = edgeFields.indexOf('to_node');
const edgeCountAt = fields.indexOf('edge_count');
const nodeCount = heap.nodes.length / width;
const holder = new Int32Array(nodeCount).fill(-1);
const holderEdge = new Array<string>(nodeCount);
let edge = 0;
for (let node = 0; node < nodeCount; node++) {
  const count = heap.nodes[node * width + edgeCountAt]!;
  for (let e = 0; e < count; e++, edge += edgeWidth) {
    const type = edgeTypes[heap.edges[edge + edgeTypeAt]!]!;
    if (type === 'weak' || type === 'shortcut') continue;
    const to = heap.edges[edge + edgeToAt]! / width;
    if (holder[to] !== -1) continue;
    holder[to] = node;
    const name = heap.edges[edge + edgeNameAt]!;
    holderEdge[to] = type === 'element' || type === 'hidden' ? `[${type}]` : `.${heap.strings[name]}`;
  }
}
const held = new Map<string, { count: number; bytes: number }>();
for (let node = 0; node < nodeCount; node++) {
  const parent = holder[node]!;
  const parentName =
    parent === -1
      ? '(root)'
      : `${types[heap.nodes[parent * width + typeAt]!]} ${heap.strings[heap.nodes[parent * width + nameAt]!]!.slice(0, 40)}`;
  const key = `${parentName}${holderEdge[node] ?? ''} -> ${types[heap.nodes[node * width + typeAt]!]}`;
  const group = held.get(key) ?? { count: 0, bytes: 0 };
  group.count++;
  group.bytes += heap.nodes[node * width + sizeAt]!;
  held.set(key, group);
}
console.log('held by (first retainer, edge):');
for (const [key, group] of [...held].sort((a, b) => b[1].bytes - a[1].bytes).slice(0, top))
  console.log(`${mb(group.bytes)} MB ${String(group.count).padStart(9)}  ${key}`);
