/**
 * One throughput run of the reconcile bench, for profiling:
 * `node --cpu-prof --import tsx bench/profile-throughput.ts [latencyMs] [runs]`.
 */
import { profileThroughput } from './reconcile.js';

const latency = Number(process.argv[2] ?? 0);
const runs = Number(process.argv[3] ?? 1);
for (let i = 0; i < runs; i++) console.log(JSON.stringify(await profileThroughput(1000, latency)));
