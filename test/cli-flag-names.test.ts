/**
 * A refused option value is named by the flag the user typed, not by the library field behind it:
 * `plait search idx q --ncells 0` had said "Expected an integer in [1, 4194304] for nIvfProbe",
 * `-k 0` "for topK", `plait serve --log-level x` "for logLevel" (trial 13). Both kinds of refusal:
 * an option's own parser (parse time) and the library's check of the value after parsing
 * (resolveServerOptions). The library and HTTP doors keep their own names (topK, top_k).
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { runPlait } from './helpers/cli.js';

test('plait search --ncells 0, -k 0, --rm3-fb-docs 0, --prf-beta 99, plait explain --rm3-fb-terms 0 and plait serve --log-level x / --max-body-bytes 5 name the flags (text and --json details.flag)', () => {
  const dir = mkdtempSync(join(tmpdir(), 'plait-flag-names-'));
  try {
    const cases: [string[], string][] = [
      [['search', 'no-such-index', 'q', '--ncells', '0'], 'for --ncells but received "0"'],
      [['search', 'no-such-index', 'q', '-k', '0'], 'for -k but received "0"'],
      [['serve', 'no-such-index', '--log-level', 'x'], 'for --log-level but received "x"'],
      [['serve', 'no-such-index', '--max-body-bytes', '5'], 'for --max-body-bytes but received "5"'],
      // RM3/PRF ranges are the library's (rm3.ts, prf-options.ts), checked after parsing: they had said "for rm3.fbDocs".
      [['search', 'no-such-index', 'q', '--rm3-fb-docs', '0'], 'for --rm3-fb-docs but received 0'],
      [['search', 'no-such-index', 'q', '--rm3-original-query-weight', '2'], 'for --rm3-original-query-weight but received 2'],
      [['search', 'no-such-index', 'q', '--prf-beta', '99'], 'for --prf-beta but received 99'],
      [['explain', 'no-such-index', 'q', 'd1', '--rm3-fb-terms', '0'], 'for --rm3-fb-terms but received 0'],
    ];
    for (const [args, said] of cases) {
      const r = runPlait(dir, args);
      assert.equal(r.code, 2, r.stderr);
      assert.ok(r.stderr.includes(said) && r.stderr.includes('[INVALID_ARGUMENT]'), `${args.join(' ')}: ${r.stderr}`);
    }
    const json = runPlait(dir, ['search', 'no-such-index', 'q', '--ncells', '0', '--json']);
    const err = (JSON.parse(json.stderr) as { error: { details: Record<string, unknown> } }).error;
    assert.equal(err.details['flag'], '--ncells');
    assert.equal(err.details['name'], 'nIvfProbe', 'the library field stays in details.name');
    const prf = runPlait(dir, ['search', 'no-such-index', 'q', '--prf-fb-docs', '0', '--json']);
    const prfErr = (JSON.parse(prf.stderr) as { error: { details: Record<string, unknown> } }).error;
    assert.equal(prfErr.details['flag'], '--prf-fb-docs');
    assert.equal(prfErr.details['name'], 'prf.fbDocs', 'the library field stays in details.name');
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});
