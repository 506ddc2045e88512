/**
 * Random inputs of the probed-token kernels' tests (test/probed-walk.test.ts, test/probed-scores.test.ts):
 * probe lists as probed-token-interaction.ts builds them and a candidate list. Only functions: running
 * this file does nothing.
 */

/**
 * Probe lists of `qLen` tokens × `perToken` slots over `nCells` cells: slot i·perToken + r is token i's
 * r-th probe, `head[c]` the newest slot probing cell c and `next[slot]` the one before it (-1 ends a
 * chain); a fifth of the slots stay unused (-1 pads, as for a token with fewer probes).
 */
export function randomProbeLists(rnd: () => number, nCells: number, qLen: number, perToken: number): { head: Int32Array; next: Int32Array } {
  const head = new Int32Array(nCells).fill(-1);
  const next = new Int32Array(qLen * perToken).fill(-1);
  for (let slot = 0; slot < next.length; slot++) {
    if (rnd() < 0.2) continue;
    const c = Math.floor(rnd() * nCells);
    next[slot] = head[c]!;
    head[c] = slot;
  }
  return { head, next };
}

/** Candidates: `pids` (any passages, repeats allowed) and `docs`, the indexes into pids kept, each with probability `keep`, ascending. */
export function randomCandidates(rnd: () => number, nPassages: number, keep: number): { pids: Int32Array; docs: Int32Array } {
  const pids = Int32Array.from({ length: Math.floor(rnd() * nPassages) }, () => Math.floor(rnd() * nPassages));
  const docs = Int32Array.from({ length: pids.length }, (_, d) => d).filter(() => rnd() < keep);
  return { pids, docs };
}
