/**
 * One replica a shard folder. A replica applies its shard's write log into its folder, so two
 * replicas started on one folder (README's cluster block used to show `plait serve big/shard-0`
 * twice) both applied every write: they contended for the folder's write lock (a "retrying" line
 * logged each time, 57 in a minute on cisi, trial 12c) and the second reported the first one's
 * documents as its own `unchanged` (`plait cluster add --wait`). The replica holds a flock on
 * `replica.lock` for its whole life (the kernel releases it at exit, kill -9 included), and a second
 * replica of the folder is refused at start with INDEX_LOCKED naming the first.
 *
 * Without the native addon (the 'record' lock kind) there is no lock that dies with its process:
 * no guard then, as README says.
 */
import { acquireFileFlock, lockKind, REPLICA_LOCK_FILE, type WriteLock } from '../format/write-lock.js';
import { PlaitError, isPlaitError } from '../errors/index.js';

/**
 * Takes `dir`'s replica lock for the caller's life (release it when the replica stops); null when
 * this install has no flock (no native addon, PLAIT_LOCK=record).
 * @throws PlaitError INDEX_LOCKED when another replica serves the folder (details: `reason`
 * 'replica', the holder's `pid`, `hostname`, `startedAt` when known).
 */
export function acquireReplicaLock(dir: string): WriteLock | null {
  if (lockKind() !== 'flock') return null;
  try {
    return acquireFileFlock(dir, REPLICA_LOCK_FILE);
  } catch (e) {
    if (!isPlaitError(e) || e.code !== 'INDEX_LOCKED') throw e;
    const d = e.details ?? {};
    const who = typeof d['pid'] === 'number' ? `replica pid ${d['pid']} on ${String(d['hostname'])} (since ${String(d['startedAt'])})` : 'another replica';
    throw new PlaitError('INDEX_LOCKED', {
      message: `${dir} is already served by ${who}: a shard folder takes one replica (each applies the write log into its folder; two would apply every write twice, contending for its write lock). Give each replica its own copy: cp -r <cluster> <cluster>-b while no write is being applied, then serve <cluster>-b/shard-<i>; on another machine plait cluster fetch`,
      path: dir,
      reason: 'replica',
      ...(typeof d['pid'] === 'number' ? { pid: d['pid'], hostname: d['hostname'], startedAt: d['startedAt'] } : {}),
    }, { cause: e });
  }
}
