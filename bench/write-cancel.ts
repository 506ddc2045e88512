/**
 * What a cancelled write leaves to the next one: a served sample index (bundled model, one encoder
 * worker), a write of 256 documents of ~500 words (~2,600 passages) with `timeout_ms` 300 → 504,
 * then at once a one-document write; its latency against the same one-document write on an idle
 * encoder (the baseline, same run, alternating), and the texts the encoder still encoded after
 * the 504. Before writes were cancellable the big write's batches were all queued at once, and the
 * next write waited for every one of them.
 * Run: `node dist/bench/write-cancel.js [rounds=3]`.
 */
import { pathToFileURL } from 'node:url';
import { CLUSTER_WRITE_DEFAULTS } from '../src/config/defaults.js';
import { buildSample, postJson, serve } from '../test/helpers/server-fixture.js';

const WORDS = 'glaciers carve valleys while rivers braid across outwash plains and moraines hold the lakes they leave behind'.split(' ');

function median(xs: number[]): number {
  const s = [...xs].sort((a, b) => a - b);
  return s[Math.floor(s.length / 2)]!;
}

export async function main(rounds = 3): Promise<void> {
  const sample = await buildSample('plait-bench-write-cancel-');
  const server = await serve(sample);
  const base = `${server.url}/v1/indexes/sample`;
  const encoder = await sample.index.encoder();
  const encoded = (): number => encoder.encodedTexts?.document ?? 0;
  const one = async (id: string): Promise<number> => {
    const t = performance.now();
    const r = await postJson(`${base}/documents`, { documents: [{ doc_id: id, text: 'a short note about kites' }] });
    if (r.status !== 200) throw new Error(JSON.stringify(r.body));
    return performance.now() - t;
  };
  const idle: number[] = [];
  const after: number[] = [];
  const leftover: number[] = [];
  try {
    await one('warm');
    for (let r = 0; r < rounds; r++) {
      idle.push(await one(`idle-${r}`));
      const documents = Array.from({ length: CLUSTER_WRITE_DEFAULTS.maxDocuments }, (_, i) => ({ doc_id: `big-${r}-${i}`, text: Array.from({ length: 500 }, (_, j) => WORDS[(i + j) % WORDS.length]).join(' ') }));
      const big = await postJson(`${base}/documents`, { documents, timeout_ms: 300 });
      if (big.status !== 504) throw new Error(`the big write answered ${big.status}`);
      const at504 = encoded();
      after.push(await one(`after-${r}`));
      leftover.push(encoded() - at504 - 1);
    }
  } finally {
    await server.close();
    await sample.dispose();
  }
  const fmt = (xs: number[]): string => xs.map((x) => x.toFixed(0)).join(', ');
  console.log(`one-document write, idle encoder:           median ${median(idle).toFixed(0)} ms (${fmt(idle)})`);
  console.log(`one-document write right after a 504'd one: median ${median(after).toFixed(0)} ms (${fmt(after)})`);
  console.log(`ratio after/idle: ${(median(after) / median(idle)).toFixed(2)}; texts of the 504'd write encoded after its 504: ${leftover.join(', ')}`);
}

if (import.meta.url === pathToFileURL(process.argv[1]!).href) {
  await main(Number(process.argv[2] ?? 3));
}
