// Builds the native kernels during `npm install`. A failed build is not fatal for users: plait
// falls back to its TypeScript kernels (kernelsStatus() says why; PLAIT_KERNELS=native makes it an
// error). Users of the npm package get prebuilt kernels instead (scripts/install-native.mjs). CI builds the addon
// explicitly with `npm run build:native`, which does fail on error.
import { spawnSync } from 'node:child_process';
import { existsSync } from 'node:fs';

if (!existsSync(new URL('../native-kernels/binding.gyp', import.meta.url))) process.exit(0);
const r = spawnSync('npx', ['--no-install', 'node-gyp', 'rebuild', '-C', 'native-kernels'], { stdio: 'inherit' });
if (r.status !== 0) {
  console.warn('plait: building the native kernels failed; the TypeScript kernels will be used (slower).');
}
