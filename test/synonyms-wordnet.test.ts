/**
 * Synonym files as users already have them: WordNet's prolog `wn_s.pl` (Solr's
 * WordnetSynonymParser, Elasticsearch's `format: wordnet`) beside Solr's synonyms.txt. Before, a
 * WordNet file was read as Solr lines and every field became a term ("1" and "n" synonyms of
 * every word in the file).
 */
import { test, after } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { isPlaitError } from '../src/errors/index.js';
import { parseSynonyms, readSynonyms } from '../src/rewrite/synonyms.js';

const root = mkdtempSync(join(tmpdir(), 'plait-wordnet-'));
after(() => rmSync(root, { recursive: true, force: true }));

const WN = [
  "s(100001740,1,'entity',n,1,11).",
  "s(100002137,1,'abstraction',n,6,0).",
  "s(100002137,2,'abstract entity',n,1,0).",
  "s(102084071,1,'dog',n,1,42).",
  "s(102084071,2,'domestic dog',n,1,0).",
  "s(102084071,3,'Canis familiaris',n,1,0).",
  "s(104380346,1,'jack-o''-lantern',n,1,0).",
  "s(104380346,2,'pumpkin lantern',n,1,0).",
];

test("WordNet's wn_s.pl: the words of a synset are one equivalent group, as Solr and Elasticsearch read it", () => {
  const map = parseSynonyms(WN.join('\n'), { file: 'wn_s.pl' });
  const to = (from: string) => map.rules.find((r) => r.from === from)?.to;
  assert.deepEqual(to('dog'), ['domestic dog', 'Canis familiaris']);
  assert.deepEqual(to('Canis familiaris'), ['dog', 'domestic dog']);
  assert.deepEqual(to('abstraction'), ['abstract entity']);
  assert.deepEqual(to("jack-o'-lantern"), ['pumpkin lantern']); // '' is a quote
  assert.equal(to('entity'), undefined); // a synset of one word maps nothing
  // No field of the fact is a term.
  for (const r of map.rules) for (const t of [r.from, ...r.to]) assert.doesNotMatch(t, /^(\d+|[nvasr])$|s\(|\)\./, `field read as a term: ${t}`);
  assert.ok(map.rules.every((r) => !r.replace));
  // expand: false maps each word to its synset's first, as Solr's expand=false.
  const first = parseSynonyms(WN.join('\n'), { expand: false });
  assert.deepEqual(first.rules.find((r) => r.from === 'domestic dog'), { from: 'domestic dog', to: ['dog'], replace: true });
  // A file with a BOM, CRLF line ends and blank lines reads the same; a named format too.
  const file = join(root, 'wn_s.pl');
  writeFileSync(file, `\uFEFF${WN.join('\r\n')}\r\n\r\n`);
  assert.deepEqual(readSynonyms(file), map);
  assert.deepEqual(parseSynonyms(WN.join('\n'), { format: 'wordnet' }), map);
});

test('a line of the other format is SYNONYMS_INVALID naming file and line; an unknown format is INVALID_ARGUMENT', () => {
  const at = (line: number, re: RegExp) => (e: unknown) => isPlaitError(e, 'SYNONYMS_INVALID') && e.details?.line === line && e.details?.file === 'syn.txt' && re.test((e as Error).message);
  assert.throws(() => parseSynonyms(`${WN[0]}\n${WN[1]}\ncouch, sofa\n`, { file: 'syn.txt' }), at(3, /syn\.txt:3: not a WordNet prolog line/));
  assert.throws(() => parseSynonyms(`# mine\ncouch, sofa\n${WN[3]}\n`, { file: 'syn.txt' }), at(3, /syn\.txt:3: a WordNet prolog line in a file whose first rule is in Solr's format/));
  assert.throws(() => parseSynonyms('couch, sofa', { file: 'syn.txt', format: 'wordnet' }), at(1, /not a WordNet prolog line/));
  assert.throws(() => parseSynonyms('couch, sofa', { format: 'prolog' as 'wordnet' }), (e: unknown) => isPlaitError(e, 'INVALID_ARGUMENT'));
  // Solr's own format is unchanged: comments, blank lines, duplicates, multi-word terms.
  const solr = parseSynonyms('# c\n\ncouch, sofa\ncouch, sofa\nunited states, usa\ntv => television\n');
  assert.deepEqual(solr.rules.map((r) => [r.from, r.to.join('|'), r.replace]), [
    ['couch', 'sofa', false], ['sofa', 'couch', false], ['united states', 'usa', false], ['usa', 'united states', false], ['tv', 'television', true],
  ]);
});
