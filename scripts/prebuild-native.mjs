// `npm run build:prebuilds` (run by `prepack`): builds the native kernels with prebuildify into
// native-kernels/prebuilds/<platform>-<arch>/, the folder node-gyp-build loads when a user's
// install has no local build (src/kernels/native-loader.ts). N-API (NAPI_VERSION 8), so one binary
// serves every Node >= 20 on that platform; stripped (~125 KB on linux-x64).
//
// It also lays better-sqlite3's compiled binding (this checkout's node_modules, the exact version
// package.json pins) in native-kernels/sqlite-prebuilds/, named for its version, platform, CPU and
// Node ABI: a user whose better-sqlite3 got no binding of its own (install scripts blocked or
// skipped, no GitHub download, no compiler) loads that one (src/docstore/open-database.ts). It is
// not N-API: it serves the Node major this script runs on (~2.1 MB on linux-x64, Node 20).
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
import { copyFileSync, existsSync, mkdirSync, readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

const cwd = fileURLToPath(new URL('../native-kernels', import.meta.url));
const args = ['--no-install', 'prebuildify', '--napi', '--strip', '--target', process.versions.node, '--cwd', cwd];
const r = spawnSync('npx', args, { stdio: 'inherit' });
if (r.status !== 0) process.exit(r.status ?? 1);

const require = createRequire(import.meta.url);
const sqliteRoot = dirname(require.resolve('better-sqlite3/package.json'));
const { version } = JSON.parse(readFileSync(join(sqliteRoot, 'package.json'), 'utf8'));
const built = join(sqliteRoot, 'build', 'Release', 'better_sqlite3.node');
if (!existsSync(built)) {
  console.error(`prebuild: ${built} is missing (better-sqlite3's install did not build it); run npm rebuild better-sqlite3`);
  process.exit(1);
}
const out = join(cwd, 'sqlite-prebuilds');
mkdirSync(out, { recursive: true });
copyFileSync(built, join(out, `better-sqlite3@${version}-${process.platform}-${process.arch}-abi${process.versions.modules}.node`));
