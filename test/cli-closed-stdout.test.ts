/**
 * `plait … | head`: when the reader of stdout goes away, plait stops quietly with status 0; it died
 * on an unhandled EPIPE with a stack trace (found piping `plait search` into `head`).
 */
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { PLAIT_BIN } from './helpers/cli.js';
import { buildSynthetic, syntheticPassages } from '../fixtures/synthetic-index.js';

let dir: string;
before(() => {
  dir = mkdtempSync(join(tmpdir(), 'plait-epipe-'));
});
after(() => rmSync(dir, { recursive: true, force: true }));

test('a closed stdout ends the command quietly (status 0, no EPIPE trace)', async () => {
  const path = join(dir, 'idx');
  await buildSynthetic(path, syntheticPassages(20, 16, 5, 32, 0.35).passages, 16);
  const child = spawn(process.execPath, [PLAIT_BIN, 'info', path], { stdio: ['ignore', 'pipe', 'pipe'] });
  child.stdout.destroy(); // the reader is gone before plait writes its first line
  let stderr = '';
  child.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
  const status = await new Promise<number | null>((resolve) => child.on('close', (code) => resolve(code)));
  assert.doesNotMatch(stderr, /EPIPE|Unhandled/);
  assert.equal(status, 0);
});
