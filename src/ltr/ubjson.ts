/**
 * A Universal Binary JSON (UBJSON, ubjson.org, Draft 12) reader: the format XGBoost ≥ 1.6 writes
 * for `save_model("model.ubj")` — and, since XGBoost 2.1, for any name not ending in `.json` — so
 * that a model trained in Python reads like its JSON twin (the same tree, same values) without a
 * conversion step. Big-endian numbers; `[`/`{` containers, optionally typed and counted
 * (`[$d#L<n>` followed by n bare float32s, which XGBoost uses for every tree array); object keys
 * are strings without their `S` marker. Float32 values are widened to float64 exactly, so the
 * scorer's Math.fround gives back XGBoost's own float32.
 *
 * Not read: the high-precision number `H` (XGBoost never writes it) and no-op `N` inside typed
 * containers. Anything malformed, or bytes after the value, is an Error the caller wraps (the
 * model loader: LTR_MODEL_INVALID).
 */

/** Whether `bytes` start like a UBJSON object (`{` followed by a key length marker or `}`/`$`/`#`). */
export function looksLikeUbjson(bytes: Uint8Array): boolean {
  return bytes.length >= 2 && bytes[0] === 0x7b && 'UiIlL}$#'.includes(String.fromCharCode(bytes[1]!));
}

/** Decodes one UBJSON value filling the whole buffer. @throws Error on malformed input. */
export function decodeUbjson(bytes: Uint8Array): unknown {
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const text = new TextDecoder('utf-8', { fatal: true });
  let at = 0;
  const need = (n: number): void => {
    if (at + n > bytes.length) throw new Error(`truncated UBJSON: ${n} more bytes needed at offset ${at} of ${bytes.length}`);
  };
  const marker = (): string => {
    need(1);
    return String.fromCharCode(bytes[at++]!);
  };
  const scalar = (m: string): unknown => {
    switch (m) {
      case 'Z': return null;
      case 'T': return true;
      case 'F': return false;
      case 'i': need(1); at += 1; return view.getInt8(at - 1);
      case 'U': need(1); at += 1; return view.getUint8(at - 1);
      case 'I': need(2); at += 2; return view.getInt16(at - 2);
      case 'l': need(4); at += 4; return view.getInt32(at - 4);
      case 'L': {
        need(8);
        at += 8;
        const v = view.getBigInt64(at - 8);
        if (v > BigInt(Number.MAX_SAFE_INTEGER) || v < BigInt(Number.MIN_SAFE_INTEGER)) throw new Error(`UBJSON int64 ${v} at offset ${at - 8} is past 2^53`);
        return Number(v);
      }
      case 'd': need(4); at += 4; return view.getFloat32(at - 4);
      case 'D': need(8); at += 8; return view.getFloat64(at - 8);
      case 'C': need(1); return String.fromCharCode(bytes[at++]!);
      case 'S': return str();
      case '[': return array();
      case '{': return object();
      default: throw new Error(`unknown UBJSON marker ${JSON.stringify(m)} at offset ${at - 1}`);
    }
  };
  const count = (): number => {
    const n = scalar(marker());
    if (typeof n !== 'number' || !Number.isInteger(n) || n < 0) throw new Error(`bad UBJSON length at offset ${at}`);
    return n;
  };
  const str = (): string => {
    const n = count();
    need(n);
    at += n;
    return text.decode(bytes.subarray(at - n, at));
  };
  /** After `[` or `{`: the optional `$type` and `#count`. */
  const header = (): { type: string | null; n: number | null } => {
    let type: string | null = null;
    if (bytes[at] === 0x24) {
      at++;
      type = marker();
      if (bytes[at] !== 0x23) throw new Error(`UBJSON typed container without a count at offset ${at}`);
    }
    if (bytes[at] === 0x23) {
      at++;
      return { type, n: count() };
    }
    return { type, n: null };
  };
  const array = (): unknown[] => {
    const { type, n } = header();
    const out: unknown[] = [];
    if (n !== null) {
      for (let i = 0; i < n; i++) out.push(scalar(type ?? marker()));
      return out;
    }
    for (;;) {
      need(1);
      if (bytes[at] === 0x5d) {
        at++;
        return out;
      }
      const m = marker();
      if (m !== 'N') out.push(scalar(m));
    }
  };
  const object = (): Record<string, unknown> => {
    const { type, n } = header();
    const out: Record<string, unknown> = {};
    for (let i = 0; n === null || i < n; i++) {
      if (n === null) {
        need(1);
        if (bytes[at] === 0x7d) {
          at++;
          return out;
        }
      }
      const key = str();
      out[key] = scalar(type ?? marker());
    }
    return out;
  };
  const value = scalar(marker());
  if (at !== bytes.length) throw new Error(`${bytes.length - at} bytes after the UBJSON value (offset ${at})`);
  return value;
}
