// `npm run build:prebuilds` (run by `prepack`): builds the native kernels with prebuildify into
// native-kernels/prebuilds/<platform>-<arch>/, the folder node-gyp-build loads when a user's
// install has no local build (src/kernels/native-loader.ts). N-API (NAPI_VERSION 8), so one binary
// serves every Node >= 20 on that platform; stripped (~125 KB on linux-x64).
//
// Prebuilds are not committed: a release is packed on linux-x64 (CI), which ships
// prebuilds/linux-x64 and, when the cross toolchain is installed (g++-aarch64-linux-gnu, as .ci/run
// does), prebuilds/linux-arm64 cross-compiled beside it (CC/CXX/LINK/AR and the strip binary set to
// the aarch64 tools; node-gyp takes Node's headers from this Node's own include/ folder, which
// holds no architecture-specific code for N-API). Its NEON path is checked under qemu by
// test/arm64-neon.test.ts; loading the prebuilt .node itself needs an arm64 Node, which this machine
// does not have. Add other platforms by running this script there and collecting their
// prebuilds/ folders before `npm publish`. Elsewhere the package compiles from source on install
// if a toolchain is present (scripts/install-native.mjs) and otherwise falls back to the
// TypeScript kernels. prebuildify moves the compiled file out of native-kernels/build/, so a
// developer's tree then loads the prebuild until the next `npm run build:native`.
import { spawnSync } from 'node:child_process';
import { dirname } from 'node:path';
import { fileURLToPath } from 'node:url';

const cwd = fileURLToPath(new URL('../native-kernels', import.meta.url));
const args = ['--no-install', 'prebuildify', '--napi', '--strip', '--target', process.versions.node, '--cwd', cwd];
const r = spawnSync('npx', args, { stdio: 'inherit' });
if (r.status !== 0) process.exit(r.status ?? 1);

const hasCross = ['aarch64-linux-gnu-g++', 'aarch64-linux-gnu-strip'].every((t) => spawnSync('sh', ['-c', `command -v ${t}`]).status === 0);
if (process.platform === 'linux' && process.arch === 'x64' && hasCross) {
  const env = {
    ...process.env,
    CC: 'aarch64-linux-gnu-gcc',
    CXX: 'aarch64-linux-gnu-g++',
    LINK: 'aarch64-linux-gnu-g++',
    AR: 'aarch64-linux-gnu-ar',
    PREBUILD_STRIP_BIN: 'aarch64-linux-gnu-strip',
    npm_config_nodedir: process.env.npm_config_nodedir ?? dirname(dirname(process.execPath)),
  };
  const arm = spawnSync('npx', [...args, '--arch', 'arm64'], { stdio: 'inherit', env });
  process.exit(arm.status ?? 1);
}
