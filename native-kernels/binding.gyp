# plait's native kernels. Built with `npm run build:native` (node-gyp rebuild -C native-kernels).
# The SIMD paths are compiled with per-function target attributes, so one binary runs on any
# x86-64 and picks AVX-512, AVX2+FMA or the scalar path at run time; other architectures build
# the scalar path only. The code-scoring kernels (src/code-maxsim.cc and the fast-scan
# src/fast-scan.cc) are their own static library, compiled with -ffp-contract=off so that no path
# fuses a multiply-add: their SIMD paths, the scalar ones and the TypeScript twins agree bit for bit.
# The ternary codec's kernels (src/ternary-kernels.cc) are built the same way, for the same reason, and so is
# the ternary code scorer (src/ternary-code-scoring.cc), and probed-token ranking's pair scorer
# (src/probed-scores.cc), whose pairs must get the fast-scan kernel's bits.
# Every target is built with -falign-functions=64 -falign-loops=64, so a kernel's hot loops sit at
# the same offset within 64-byte fetch windows whatever code is added before them: the float MaxSim
# kernel's speed moved 1.3-1.5x between builds with no change to its source (bench/RESULTS.md,
# "Fast-scan part G"; its loop is now also unrolled, which removed the sensitivity on its own).
{
  "targets": [
    {
      "target_name": "plait_code_kernels",
      "type": "static_library",
      "sources": ["src/code-maxsim.cc", "src/fast-scan.cc", "src/ternary-code-scoring.cc", "src/probed-scores.cc"],
      "cflags!": ["-O2", "-O0"],
      "cflags_cc!": ["-O2", "-O0", "-std=gnu++17", "-std=gnu++20"],
      "cflags": ["-O3", "-fPIC", "-ffp-contract=off", "-falign-functions=64", "-falign-loops=64"],
      "cflags_cc": ["-O3", "-std=c++17", "-fPIC", "-ffp-contract=off", "-falign-functions=64", "-falign-loops=64"],
      "xcode_settings": {
        "CLANG_CXX_LANGUAGE_STANDARD": "c++17",
        "GCC_OPTIMIZATION_LEVEL": "3",
        "OTHER_CPLUSPLUSFLAGS": ["-ffp-contract=off"]
      },
      "msvs_settings": {
        "VCCLCompilerTool": { "Optimization": 2, "AdditionalOptions": ["/fp:precise"] }
      }
    },
    {
      "target_name": "plait_ternary_kernels",
      "type": "static_library",
      "sources": ["src/ternary-kernels.cc"],
      "cflags!": ["-O2", "-O0"],
      "cflags_cc!": ["-O2", "-O0", "-std=gnu++17", "-std=gnu++20"],
      "cflags": ["-O3", "-fPIC", "-ffp-contract=off", "-falign-functions=64", "-falign-loops=64"],
      "cflags_cc": ["-O3", "-std=c++17", "-fPIC", "-ffp-contract=off", "-falign-functions=64", "-falign-loops=64"],
      "xcode_settings": {
        "CLANG_CXX_LANGUAGE_STANDARD": "c++17",
        "GCC_OPTIMIZATION_LEVEL": "3",
        "OTHER_CPLUSPLUSFLAGS": ["-ffp-contract=off"]
      },
      "msvs_settings": {
        "VCCLCompilerTool": { "Optimization": 2, "AdditionalOptions": ["/fp:precise"] }
      }
    },
    {
      "target_name": "plait_kernels",
      "sources": [
        "src/addon.cc",
        "src/dense-kernels.cc",
        "src/codec-kernels.cc",
        "src/centroid-scores.cc",
        "src/ivf-interaction.cc",
        "src/probed-walk.cc",
        "src/cpu-features.cc",
        "src/mmap.cc",
        "src/file-lock.cc",
        "src/peak-flops.cc"
      ],
      "dependencies": [
        "plait_code_kernels",
        "plait_ternary_kernels",
        "<!(node -p \"require('node-addon-api').targets\"):node_addon_api_except"
      ],
      # NODE_API_SWALLOW_UNTHROWABLE_EXCEPTIONS: a call running on a worker thread that is being
      # terminated (an index closed, or a scoring pool destroyed, while a search scores there) finds
      # its N-API calls failing; node-addon-api then throws a C++ Napi::Error, and handing it to an
      # environment that can no longer run JavaScript threw again inside its catch: std::terminate,
      # and the whole process aborted ("terminate called after throwing an instance of
      # 'Napi::Error'", exit 134). With this define the unthrowable error is dropped and only the
      # worker ends (test/native-terminate.test.ts).
      "defines": ["NAPI_VERSION=8", "NODE_API_SWALLOW_UNTHROWABLE_EXCEPTIONS"],
      "cflags!": ["-O2", "-O0"],
      "cflags_cc!": ["-O2", "-O0", "-std=gnu++17", "-std=gnu++20"],
      "cflags": ["-O3", "-falign-functions=64", "-falign-loops=64"],
      "cflags_cc": ["-O3", "-std=c++17", "-falign-functions=64", "-falign-loops=64"],
      "xcode_settings": {
        "GCC_ENABLE_CPP_EXCEPTIONS": "YES",
        "CLANG_CXX_LANGUAGE_STANDARD": "c++17",
        "GCC_OPTIMIZATION_LEVEL": "3"
      },
      "msvs_settings": {
        "VCCLCompilerTool": { "ExceptionHandling": 1, "Optimization": 2 }
      }
    }
  ]
}
