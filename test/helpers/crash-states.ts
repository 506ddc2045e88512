/**
 * Crash states from a recorded sequence of file operations, in the manner of ALICE (Pillai et al.,
 * OSDI 2014) and CrashMonkey (Mohan et al., OSDI 2018): the index transaction reports each
 * operation (index-transaction.ts `onOp`); this model replays them over the folder's starting
 * contents and, after every operation, lists the on-disk states a crash there allows:
 *  - folder entries (create, rename, unlink) made since the last fsync of the folder may each be
 *    persisted or lost, in any combination (all subsets up to 8 pending entries; beyond that every
 *    prefix and every "all but one", which covers the reorderings that matter);
 *  - a file's data not yet fsynced may be lost (its last fsynced bytes, empty if never), written
 *    whole, or torn (the first half of the new bytes) — for all files alike, and for each such file
 *    alone written whole while the others are lost.
 *  - an in-place document store (SQLite, WAL) is one participant whose own journal is trusted: it
 *    holds its previous commit's content until the recorded `sqliteCommit`, the new one after it
 *    (read as a whole database image, `serialize`, so that a state is one file however SQLite split
 *    it between the database and its WAL). What is checked is the protocol around that commit.
 * States are deduplicated by content.
 */
import { createHash } from 'node:crypto';
import { readFileSync, readdirSync, statSync } from 'node:fs';
import { join } from 'node:path';
import type { FsOp } from '../../src/format/index-transaction.js';
import { openDatabase } from '../../src/docstore/open-database.js';

/** A SQLite store's committed content as one database image (WAL frames included). */
function storeImage(path: string): Buffer {
  const db = openDatabase(path, { readonly: true, fileMustExist: true });
  try {
    return db.serialize();
  } finally {
    db.close();
  }
}

interface Inode {
  durable: Buffer;
  latest: Buffer;
}

type DirOp = { kind: 'link'; name: string; ino: number } | { kind: 'unlink'; name: string } | { kind: 'rename'; from: string; to: string };

export type FolderState = Map<string, Buffer>;

export class CrashModel {
  private readonly inodes: Inode[] = [];
  private durableNs = new Map<string, number>();
  private readonly ns = new Map<string, number>();
  private pending: DirOp[] = [];

  /** The folder's files before the change (taken as durable); `skip` leaves out lock files and the like. */
  constructor(
    private readonly dir: string,
    skip: RegExp,
  ) {
    for (const name of readdirSync(dir)) {
      if (skip.test(name) || !statSync(join(dir, name)).isFile()) continue;
      const data = name.endsWith('.sqlite') ? storeImage(join(dir, name)) : readFileSync(join(dir, name));
      this.inodes.push({ durable: data, latest: data });
      this.ns.set(name, this.inodes.length - 1);
    }
    this.durableNs = new Map(this.ns);
  }

  private read(name: string): Buffer {
    return readFileSync(join(this.dir, name));
  }

  /** Applies one recorded operation (reading the file's bytes as they are now). */
  apply(op: FsOp): void {
    switch (op.op) {
      case 'create':
      case 'moveIn': {
        const data = this.read(op.name);
        // A moved-in file was fsynced before its rename; a created one has no durable bytes yet.
        this.inodes.push({ durable: op.op === 'moveIn' ? data : Buffer.alloc(0), latest: data });
        const ino = this.inodes.length - 1;
        this.ns.set(op.name, ino);
        this.pending.push({ kind: 'link', name: op.name, ino });
        break;
      }
      case 'write':
        this.inodes[this.ns.get(op.name)!]!.latest = this.read(op.name);
        break;
      case 'fsync': {
        const inode = this.inodes[this.ns.get(op.name)!]!;
        inode.latest = this.read(op.name);
        inode.durable = inode.latest;
        break;
      }
      case 'rename': {
        const ino = this.ns.get(op.from)!;
        this.ns.delete(op.from);
        this.ns.set(op.to, ino);
        this.pending.push({ kind: 'rename', from: op.from, to: op.to });
        break;
      }
      case 'unlink':
        if (!this.ns.has(op.name)) break;
        this.ns.delete(op.name);
        this.pending.push({ kind: 'unlink', name: op.name });
        break;
      case 'fsyncDir':
        this.durableNs = new Map(this.ns);
        this.pending = [];
        break;
      case 'sqliteCommit': {
        const inode = this.inodes[this.ns.get(op.name)!]!;
        inode.latest = storeImage(join(this.dir, op.name));
        inode.durable = inode.latest;
        break;
      }
    }
  }

  private subsets(): boolean[][] {
    const n = this.pending.length;
    if (n <= 8) return Array.from({ length: 1 << n }, (_, m) => Array.from({ length: n }, (_, i) => (m & (1 << i)) !== 0));
    const out: boolean[][] = [];
    for (let k = 0; k <= n; k++) out.push(Array.from({ length: n }, (_, i) => i < k));
    for (let skip = 0; skip < n; skip++) out.push(Array.from({ length: n }, (_, i) => i !== skip));
    return out;
  }

  /** Every on-disk state a crash right now allows, deduplicated (keys: content hashes). */
  crashStates(): Map<string, FolderState> {
    const out = new Map<string, FolderState>();
    for (const chosen of this.subsets()) {
      const ns = new Map(this.durableNs);
      this.pending.forEach((d, i) => {
        if (!chosen[i]) return;
        if (d.kind === 'link') ns.set(d.name, d.ino);
        else if (d.kind === 'unlink') ns.delete(d.name);
        else if (ns.has(d.from)) {
          ns.set(d.to, ns.get(d.from)!);
          ns.delete(d.from);
        }
      });
      const unsynced = [...new Set(ns.values())].filter((ino) => !this.inodes[ino]!.durable.equals(this.inodes[ino]!.latest));
      const variants: Array<(ino: number) => Buffer> = [
        (ino) => this.inodes[ino]!.durable,
        (ino) => this.inodes[ino]!.latest,
        (ino) => (unsynced.includes(ino) ? this.inodes[ino]!.latest.subarray(0, this.inodes[ino]!.latest.length >> 1) : this.inodes[ino]!.durable),
        ...unsynced.map((one) => (ino: number) => (ino === one ? this.inodes[ino]!.latest : this.inodes[ino]!.durable)),
      ];
      for (const pick of variants) {
        const state: FolderState = new Map();
        const h = createHash('sha1');
        for (const [name, ino] of [...ns].sort((a, b) => (a[0] < b[0] ? -1 : 1))) {
          const data = pick(ino);
          state.set(name, data);
          h.update(name).update('\0').update(createHash('sha1').update(data).digest()).update('\0');
        }
        out.set(h.digest('hex'), state);
      }
    }
    return out;
  }
}
