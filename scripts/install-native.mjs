// `install` script for users of the npm package (it does nothing in a development clone, where
// `prepare` builds the kernels). If node-gyp-build finds a prebuilt binary for this platform
// (native-kernels/prebuilds/, shipped in the package) or an earlier build, there is nothing to do.
// Otherwise it tries to compile the addon with node-gyp (npm puts its bundled node-gyp on PATH);
// if that fails (no C++ toolchain), plait falls back to its TypeScript kernels, and says so here.
// Never fails the install. npm >= 11 runs it only if the project allows plait's install scripts
// (`npm install-scripts approve plait`); without that, prebuilt platforms still get native kernels.
import { spawnSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import { createRequire } from 'node:module';
import { fileURLToPath } from 'node:url';

const root = fileURLToPath(new URL('..', import.meta.url));
const dir = fileURLToPath(new URL('../native-kernels', import.meta.url));
if (!root.split(/[\\/]/).includes('node_modules') || !existsSync(dir)) process.exit(0);

const require = createRequire(import.meta.url);
try {
  require('node-gyp-build')(dir);
  process.exit(0);
} catch {
  // No prebuild for this platform and no earlier build: compile.
}
const r = spawnSync('node-gyp', ['rebuild', '-C', dir], { stdio: 'inherit', shell: process.platform === 'win32' });
if (r.status !== 0) {
  console.warn('plait: no prebuilt native kernels for this platform and compiling them failed; the TypeScript kernels will be used (slower).');
}
