/**
 * Each passage's distinct model token ids (schema 4, column `passages.token_ids`), so that a delete
 * subtracts the passage from the token document frequencies (`token_df`, query-token IDF) exactly as
 * the add counted it. Stored sorted, as LEB128 varints of the gaps: about 1.3 bytes a token id
 * against 4 as int32 (BERT's 30,522-token vocabulary: most gaps between a passage's sorted ids are
 * under 128). NULL for passages stored before schema 4 (their tokens were never kept): those cannot
 * be subtracted and are counted in `meta.token_df_unsubtracted`.
 */

/** The distinct ids in [0, vocabSize) of one passage's tokens, sorted. */
export function distinctTokenIds(tokenIds: ArrayLike<number>, vocabSize: number): Int32Array {
  const seen = new Set<number>();
  for (let i = 0; i < tokenIds.length; i++) {
    const t = tokenIds[i]!;
    if (t >= 0 && t < vocabSize) seen.add(t);
  }
  return Int32Array.from(seen).sort();
}

/** Sorted distinct ids → LEB128 gaps. */
export function encodeTokenIds(sorted: Int32Array): Buffer {
  const out: number[] = [];
  let prev = 0;
  for (let i = 0; i < sorted.length; i++) {
    let gap = sorted[i]! - prev;
    prev = sorted[i]!;
    while (gap >= 0x80) {
      out.push((gap & 0x7f) | 0x80);
      gap >>>= 7;
    }
    out.push(gap);
  }
  return Buffer.from(out);
}

/** LEB128 gaps → the sorted ids. */
export function decodeTokenIds(bytes: Uint8Array): Int32Array {
  const out: number[] = [];
  let prev = 0;
  for (let i = 0; i < bytes.length; ) {
    let gap = 0;
    let shift = 0;
    let b: number;
    do {
      b = bytes[i++]!;
      gap |= (b & 0x7f) << shift;
      shift += 7;
    } while ((b & 0x80) !== 0 && i < bytes.length);
    prev += gap;
    out.push(prev);
  }
  return Int32Array.from(out);
}
