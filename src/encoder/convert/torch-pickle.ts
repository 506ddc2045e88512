/**
 * A pickle reader that can only rebuild a PyTorch state dict. It interprets the opcodes torch.save
 * emits (protocols 2–5: PROTO, FRAME, GLOBAL/STACK_GLOBAL, REDUCE, NEWOBJ, BUILD, BINPERSID, the
 * tuple/list/dict/memo/int/float/string opcodes) and resolves a GLOBAL only when it is on
 * ALLOWED_GLOBALS: `collections.OrderedDict`, `torch._utils._rebuild_tensor_v2` and
 * `_rebuild_parameter`, and the typed storage classes. Any other global (`os.system`,
 * `builtins.eval`, ...) and the text opcodes INST/OBJ are refused with MODEL_UNSAFE the moment they
 * are read, before anything could be called: nothing in a checkpoint can run code. (This is
 * `torch.load(weights_only=True)`'s idea, with a smaller list.) The result maps names to
 * `TorchTensorRef`s, which `torch-checkpoint-reader.ts` fills from the zip's `data/<key>` entries.
 * Opcode reference: CPython Lib/pickletools.py.
 */
import { PlaitError } from '../../errors/index.js';

/** Storage classes → (dtype, bytes per element). */
const STORAGE_DTYPES: Record<string, { dtype: string; width: number }> = {
  FloatStorage: { dtype: 'F32', width: 4 },
  HalfStorage: { dtype: 'F16', width: 2 },
  BFloat16Storage: { dtype: 'BF16', width: 2 },
  DoubleStorage: { dtype: 'F64', width: 8 },
  LongStorage: { dtype: 'I64', width: 8 },
  IntStorage: { dtype: 'I32', width: 4 },
  ShortStorage: { dtype: 'I16', width: 2 },
  CharStorage: { dtype: 'I8', width: 1 },
  ByteStorage: { dtype: 'U8', width: 1 },
  BoolStorage: { dtype: 'BOOL', width: 1 },
};

/** Every global a checkpoint may name, as "module.name". */
export const ALLOWED_GLOBALS: ReadonlySet<string> = new Set([
  'collections.OrderedDict',
  'torch._utils._rebuild_tensor_v2',
  'torch._utils._rebuild_parameter',
  ...Object.keys(STORAGE_DTYPES).map((s) => `torch.${s}`),
]);

export interface TorchStorageRef {
  key: string;
  dtype: string;
  width: number;
  numel: number;
}

export interface TorchTensorRef {
  storage: TorchStorageRef;
  /** In elements. */
  offset: number;
  shape: number[];
  stride: number[];
}

class Global {
  constructor(readonly qualified: string) {}
}
class StorageType {
  constructor(readonly dtype: string, readonly width: number) {}
}
class PickleDict {
  readonly map = new Map<unknown, unknown>();
}
const MARK = Symbol('mark');

export function isTensorRef(v: unknown): v is TorchTensorRef {
  return typeof v === 'object' && v !== null && 'storage' in v && 'stride' in v;
}

function unsafe(file: string, what: string): PlaitError {
  return new PlaitError('MODEL_UNSAFE', {
    message: `${file} asks the unpickler for ${what}, which is not on plait's allow-list of torch rebuild calls; a weights file never needs it. Refusing to load it (use a .safetensors copy of the weights)`,
    file,
    global: what,
  });
}

/**
 * Interprets `bytes` (a `data.pkl`) and returns the state dict: tensor name → TorchTensorRef.
 * Throws MODEL_UNSAFE for a disallowed global or opcode, MODEL_LOAD_FAILED for a malformed pickle.
 */
export function readTorchPickle(bytes: Uint8Array, file: string): Map<string, TorchTensorRef> {
  const buf = Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const bad = (why: string): PlaitError => new PlaitError('MODEL_LOAD_FAILED', { message: `${file}: malformed pickle: ${why}`, file });
  const stack: unknown[] = [];
  const memo = new Map<number, unknown>();
  let pos = 0;
  const need = (n: number): number => {
    if (pos + n > buf.length) throw bad(`ends inside an opcode at byte ${pos}`);
    const at = pos;
    pos += n;
    return at;
  };
  const pop = (): unknown => {
    if (stack.length === 0) throw bad(`stack underflow at byte ${pos}`);
    return stack.pop();
  };
  const popMark = (): unknown[] => {
    const m = stack.lastIndexOf(MARK);
    if (m < 0) throw bad(`no MARK at byte ${pos}`);
    const items = stack.splice(m);
    items.shift();
    return items;
  };
  const line = (): string => {
    const end = buf.indexOf(0x0a, pos);
    if (end < 0) throw bad('unterminated GLOBAL');
    const s = buf.toString('latin1', pos, end);
    pos = end + 1;
    return s;
  };
  const resolveGlobal = (module: string, name: string): unknown => {
    const q = `${module}.${name}`;
    if (!ALLOWED_GLOBALS.has(q)) throw unsafe(file, q);
    const storage = module === 'torch' ? STORAGE_DTYPES[name] : undefined;
    return storage === undefined ? new Global(q) : new StorageType(storage.dtype, storage.width);
  };
  const call = (fn: unknown, args: unknown): unknown => {
    if (!(fn instanceof Global) || !Array.isArray(args)) throw bad('REDUCE of something that is not an allowed function');
    switch (fn.qualified) {
      case 'collections.OrderedDict':
        return new PickleDict();
      case 'torch._utils._rebuild_parameter':
        return args[0];
      case 'torch._utils._rebuild_tensor_v2': {
        const [storage, offset, size, stride] = args as [unknown, unknown, unknown, unknown];
        const s = storage as TorchStorageRef;
        if (typeof s !== 'object' || s === null || !('key' in s) || typeof offset !== 'number' || !Array.isArray(size) || !Array.isArray(stride)) {
          throw bad('_rebuild_tensor_v2 with unexpected arguments');
        }
        if (!size.every((d) => Number.isSafeInteger(d) && d >= 0) || !stride.every((d) => Number.isSafeInteger(d) && d >= 0) || size.length !== stride.length) {
          throw bad('a tensor with a malformed size or stride');
        }
        return { storage: s, offset, shape: size as number[], stride: stride as number[] } satisfies TorchTensorRef;
      }
      default:
        throw unsafe(file, fn.qualified);
    }
  };

  for (;;) {
    const op = buf[need(1)]!;
    switch (op) {
      case 0x80: // PROTO
        need(1);
        break;
      case 0x95: // FRAME
        need(8);
        break;
      case 0x2e: {
        // STOP
        const top = pop();
        return toStateDict(top, file, bad);
      }
      case 0x63: {
        // GLOBAL "module\nname\n"
        const module = line();
        const name = line();
        stack.push(resolveGlobal(module, name));
        break;
      }
      case 0x93: {
        // STACK_GLOBAL
        const name = pop();
        const module = pop();
        if (typeof module !== 'string' || typeof name !== 'string') throw bad('STACK_GLOBAL without strings');
        stack.push(resolveGlobal(module, name));
        break;
      }
      case 0x69: // INST
      case 0x6f: // OBJ
        throw unsafe(file, op === 0x69 ? 'the INST opcode' : 'the OBJ opcode');
      case 0x52: {
        // REDUCE
        const args = pop();
        stack.push(call(pop(), args));
        break;
      }
      case 0x81: {
        // NEWOBJ
        const args = pop();
        stack.push(call(pop(), args));
        break;
      }
      case 0x62: // BUILD: the state of an OrderedDict (its _metadata) is not needed
        pop();
        break;
      case 0x51: {
        // BINPERSID: ('storage', storage type, key, location, numel)
        const pid = pop();
        if (!Array.isArray(pid) || pid[0] !== 'storage' || !(pid[1] instanceof StorageType) || typeof pid[2] !== 'string' || typeof pid[4] !== 'number') {
          throw bad('a persistent id that is not a torch storage');
        }
        const t = pid[1];
        stack.push({ key: pid[2], dtype: t.dtype, width: t.width, numel: pid[4] } satisfies TorchStorageRef);
        break;
      }
      case 0x28: // MARK
        stack.push(MARK);
        break;
      case 0x29: // EMPTY_TUPLE
      case 0x5d: // EMPTY_LIST
        stack.push([]);
        break;
      case 0x7d: // EMPTY_DICT
        stack.push(new PickleDict());
        break;
      case 0x74: // TUPLE
        stack.push(popMark());
        break;
      case 0x85: // TUPLE1
        stack.push([pop()]);
        break;
      case 0x86: {
        // TUPLE2
        const b = pop();
        stack.push([pop(), b]);
        break;
      }
      case 0x87: {
        // TUPLE3
        const c = pop();
        const b = pop();
        stack.push([pop(), b, c]);
        break;
      }
      case 0x61: {
        // APPEND
        const v = pop();
        const list = stack[stack.length - 1];
        if (!Array.isArray(list)) throw bad('APPEND to a non-list');
        list.push(v);
        break;
      }
      case 0x65: {
        // APPENDS
        const items = popMark();
        const list = stack[stack.length - 1];
        if (!Array.isArray(list)) throw bad('APPENDS to a non-list');
        list.push(...items);
        break;
      }
      case 0x73: {
        // SETITEM
        const v = pop();
        const k = pop();
        const d = stack[stack.length - 1];
        if (!(d instanceof PickleDict)) throw bad('SETITEM on a non-dict');
        d.map.set(k, v);
        break;
      }
      case 0x75: {
        // SETITEMS
        const items = popMark();
        const d = stack[stack.length - 1];
        if (!(d instanceof PickleDict) || items.length % 2 !== 0) throw bad('SETITEMS on a non-dict');
        for (let i = 0; i < items.length; i += 2) d.map.set(items[i], items[i + 1]);
        break;
      }
      case 0x71: // BINPUT
        memo.set(buf[need(1)]!, stack[stack.length - 1]);
        break;
      case 0x72: // LONG_BINPUT
        memo.set(buf.readUInt32LE(need(4)), stack[stack.length - 1]);
        break;
      case 0x94: // MEMOIZE
        memo.set(memo.size, stack[stack.length - 1]);
        break;
      case 0x68: // BINGET
      case 0x6a: {
        // LONG_BINGET
        const idx = op === 0x68 ? buf[need(1)]! : buf.readUInt32LE(need(4));
        if (!memo.has(idx)) throw bad(`memo ${idx} read before it was written`);
        stack.push(memo.get(idx));
        break;
      }
      case 0x58: // BINUNICODE
      case 0x8c: // SHORT_BINUNICODE
      case 0x8d: {
        // BINUNICODE8
        const n = op === 0x8c ? buf[need(1)]! : op === 0x58 ? buf.readUInt32LE(need(4)) : Number(buf.readBigUInt64LE(need(8)));
        const at = need(n);
        stack.push(buf.toString('utf8', at, at + n));
        break;
      }
      case 0x54: // BINSTRING
      case 0x55: {
        // SHORT_BINSTRING
        const n = op === 0x55 ? buf[need(1)]! : buf.readInt32LE(need(4));
        const at = need(n);
        stack.push(buf.toString('latin1', at, at + n));
        break;
      }
      case 0x42: // BINBYTES
      case 0x43: {
        // SHORT_BINBYTES
        const n = op === 0x43 ? buf[need(1)]! : buf.readUInt32LE(need(4));
        const at = need(n);
        stack.push(buf.subarray(at, at + n));
        break;
      }
      case 0x4a: // BININT
        stack.push(buf.readInt32LE(need(4)));
        break;
      case 0x4b: // BININT1
        stack.push(buf[need(1)]!);
        break;
      case 0x4d: // BININT2
        stack.push(buf.readUInt16LE(need(2)));
        break;
      case 0x8a: // LONG1
      case 0x8b: {
        // LONG4
        const n = op === 0x8a ? buf[need(1)]! : buf.readInt32LE(need(4));
        if (n < 0 || n > 8) throw bad(`an integer of ${n} bytes`);
        const at = need(n);
        let v = 0n;
        for (let i = n - 1; i >= 0; i--) v = (v << 8n) | BigInt(buf[at + i]!);
        if (n > 0 && buf[at + n - 1]! & 0x80) v -= 1n << BigInt(8 * n);
        stack.push(Number(v));
        break;
      }
      case 0x47: // BINFLOAT (big-endian)
        stack.push(buf.readDoubleBE(need(8)));
        break;
      case 0x4e: // NONE
        stack.push(null);
        break;
      case 0x88: // NEWTRUE
        stack.push(true);
        break;
      case 0x89: // NEWFALSE
        stack.push(false);
        break;
      case 0x30: // POP
        pop();
        break;
      case 0x31: // POP_MARK
        popMark();
        break;
      case 0x32: // DUP
        stack.push(stack[stack.length - 1]);
        break;
      default:
        throw bad(`opcode 0x${op.toString(16)} at byte ${pos - 1} is not one torch.save writes`);
    }
  }
}

/** The top object as name → tensor; a `{ state_dict: {...} }` wrapper is unwrapped. */
function toStateDict(top: unknown, file: string, bad: (why: string) => PlaitError): Map<string, TorchTensorRef> {
  if (!(top instanceof PickleDict)) throw bad('the pickle does not hold a dict of tensors');
  const inner = top.map.get('state_dict');
  const dict = inner instanceof PickleDict ? inner : top;
  const out = new Map<string, TorchTensorRef>();
  for (const [k, v] of dict.map) {
    if (typeof k === 'string' && isTensorRef(v)) out.set(k, v);
  }
  if (out.size === 0) throw bad(`${file} holds no tensors`);
  return out;
}
