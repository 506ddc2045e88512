// File locks and an atomic folder swap for the index transaction (src/format/index-transaction.ts).
//
// lockFile(path) -> fd | -1: opens (creating) `path` and takes flock(2) LOCK_EX | LOCK_NB on it.
//   Returns the descriptor while the lock is held, or -1 when another open file description holds
//   it (EWOULDBLOCK). The kernel releases the lock when the descriptor is closed — including when
//   the holder dies (kill -9, power loss ends every holder) — so no code ever has to guess whether a
//   holder is dead, which is how tantivy's MmapDirectory takes its writer lock. The file itself is
//   never removed: unlinking a flock file lets a second writer lock a fresh inode while a first
//   still holds the old one.
// unlockFile(fd): releases the lock and closes the descriptor.
// exchangePaths(a, b) -> boolean: renameat2(RENAME_EXCHANGE), the atomic swap of two paths (Linux
//   ≥ 3.15 on ext4, xfs, btrfs, tmpfs); false where the kernel or file system does not support it.
#include <napi.h>

#include <cerrno>
#include <cstring>
#include <string>

#ifndef _WIN32
#include <fcntl.h>
#include <sys/file.h>
#include <unistd.h>
#endif
#if defined(__linux__)
#include <sys/syscall.h>
#endif

#include "file-lock.h"

namespace plait {

Napi::Value LockFile(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  if (info.Length() < 1 || !info[0].IsString()) throw Napi::TypeError::New(env, "Expected a string for path");
  const std::string path = info[0].As<Napi::String>().Utf8Value();
#ifdef _WIN32
  throw Napi::Error::New(env, "lockFile is not available on Windows");
#else
  const int fd = open(path.c_str(), O_RDWR | O_CREAT | O_CLOEXEC, 0644);
  if (fd < 0) throw Napi::Error::New(env, "cannot open " + path + ": " + std::strerror(errno));
  if (flock(fd, LOCK_EX | LOCK_NB) != 0) {
    const int e = errno;
    close(fd);
    if (e == EWOULDBLOCK) return Napi::Number::New(env, -1);
    throw Napi::Error::New(env, "cannot lock " + path + ": " + std::strerror(e));
  }
  return Napi::Number::New(env, fd);
#endif
}

Napi::Value UnlockFile(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  if (info.Length() < 1 || !info[0].IsNumber()) throw Napi::TypeError::New(env, "Expected a descriptor");
#ifndef _WIN32
  const int fd = info[0].As<Napi::Number>().Int32Value();
  flock(fd, LOCK_UN);
  close(fd);
#endif
  return env.Undefined();
}

Napi::Value ExchangePaths(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  if (info.Length() < 2 || !info[0].IsString() || !info[1].IsString()) throw Napi::TypeError::New(env, "Expected two paths");
#if defined(__linux__) && defined(SYS_renameat2)
  const std::string a = info[0].As<Napi::String>().Utf8Value();
  const std::string b = info[1].As<Napi::String>().Utf8Value();
  constexpr unsigned kRenameExchange = 1u << 1;  // RENAME_EXCHANGE
  if (syscall(SYS_renameat2, AT_FDCWD, a.c_str(), AT_FDCWD, b.c_str(), kRenameExchange) == 0) return Napi::Boolean::New(env, true);
  const int e = errno;
  if (e == EINVAL || e == ENOSYS || e == ENOTSUP) return Napi::Boolean::New(env, false);
  throw Napi::Error::New(env, "cannot exchange " + a + " and " + b + ": " + std::strerror(e));
#else
  return Napi::Boolean::New(env, false);
#endif
}

}  // namespace plait
