/**
 * `npm run bench`: every benchmark in sequence, each printing JSON with its ratios against a
 * baseline measured in the same run. Heavy ones take their size from the environment:
 * PLAIT_BENCH_BUILD_MTOKENS (default 10) for the build benchmark.
 */
import { run as kernels } from './kernels.js';
import { run as encode } from './encode-throughput.js';
import { run as build } from './build-throughput.js';
import { run as latency } from './search-latency.js';
import { run as fidelity } from './plaid-fidelity.js';
import { run as cross } from './cross-encoder.js';
import { resolveIndexPath } from '../src/format/index-path.js';

const only = process.argv.slice(2);
const want = (name: string): boolean => only.length === 0 || only.includes(name);

if (want('kernels')) console.log(JSON.stringify(await kernels(), null, 2));
if (want('encode')) console.log(JSON.stringify(await encode(), null, 2));
if (want('build')) console.log(JSON.stringify(await build(Number(process.env.PLAIT_BENCH_BUILD_MTOKENS ?? 10), resolveIndexPath('bench-synthetic')), null, 2));
if (want('latency')) console.log(JSON.stringify(await latency(), null, 2));
if (want('fidelity')) console.log(JSON.stringify(await fidelity(), null, 2));
if (want('cross')) console.log(JSON.stringify(await cross(), null, 2));
