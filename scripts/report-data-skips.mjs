// `posttest`: after a green `npm test`, say loudly when the evaluation data was not found, since
// the tests that need it were then skipped (test/helpers/requirements.ts) and the only other sign
// is a "# SKIP" line among hundreds. Same lookup as the tests: PLAIT_DATA_DIR, else ../shared/data
// beside the repository. Under CI=true those tests fail instead, so this never runs there with
// data missing. Prints nothing when every data set is present; never fails.
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';

const root = process.env.PLAIT_DATA_DIR ?? fileURLToPath(new URL('../../shared/data', import.meta.url));
// The data sets some test needs (grep needsData test/).
const SETS = ['scifact', 'cranfield', 'cisi', 'wordnet-scale'];
const missing = SETS.filter((s) => !existsSync(join(root, s)));
if (missing.length > 0) {
  process.stderr.write(
    `\nplait: SKIPPED the tests that need evaluation data: ${missing.join(', ')} not found under ${root}.\n` +
      'plait: lay the data at ../shared/data beside this clone, or set PLAIT_DATA_DIR=/path/to/data (BEIR layout); CI=true makes them fail instead.\n',
  );
}
