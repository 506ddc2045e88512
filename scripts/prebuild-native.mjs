// `npm run build:prebuilds` (run by `prepack`): builds the native kernels with prebuildify into
// native-kernels/prebuilds/<platform>-<arch>/, the folder node-gyp-build loads when a user's
// install has no local build (src/kernels/native-loader.ts). N-API (NAPI_VERSION 8), so one binary
// serves every Node >= 20 on that platform; stripped (~125 KB on linux-x64).
//
// Prebuilds are not committed: a release is packed on linux-x64 (CI), which ships
// prebuilds/linux-x64; add other platforms by running this script there and collecting their
// prebuilds/ folders before `npm publish`. Elsewhere the package compiles from source on install
// if a toolchain is present (scripts/install-native.mjs) and otherwise falls back to the
// TypeScript kernels. prebuildify moves the compiled file out of native-kernels/build/, so a
// developer's tree then loads the prebuild until the next `npm run build:native`.
import { spawnSync } from 'node:child_process';
import { fileURLToPath } from 'node:url';

const cwd = fileURLToPath(new URL('../native-kernels', import.meta.url));
const args = ['--no-install', 'prebuildify', '--napi', '--strip', '--target', process.versions.node, '--cwd', cwd];
const r = spawnSync('npx', args, { stdio: 'inherit' });
process.exit(r.status ?? 1);
