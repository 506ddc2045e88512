// Memory-mapped index files (see mmap.cc).
#pragma once
#include <napi.h>

namespace plait {
Napi::Value MapFile(const Napi::CallbackInfo& info);
}
