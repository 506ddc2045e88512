// File locks and the atomic folder swap (see file-lock.cc).
#pragma once
#include <napi.h>

namespace plait {
Napi::Value LockFile(const Napi::CallbackInfo& info);
Napi::Value UnlockFile(const Napi::CallbackInfo& info);
Napi::Value ExchangePaths(const Napi::CallbackInfo& info);
}
