// mapFile(path) -> ArrayBuffer: a read-only file mapped into memory as an external ArrayBuffer.
// Index segments are opened this way so that opening costs no copy and RSS grows only with the
// pages a search touches; every thread (and process) that maps the same file shares its page
// cache. The mapping is MAP_PRIVATE with write permission, so a stray write costs a private page
// instead of a crash, and never reaches the file. The buffer unmaps when V8 collects it.
#include <napi.h>

#include <cerrno>
#include <cstring>
#include <string>

#ifndef _WIN32
#include <fcntl.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>
#endif

#include "mmap.h"

namespace plait {

namespace {

struct Mapping {
  size_t length;
};

void unmap(Napi::Env /*env*/, void* data, Mapping* m) {
#ifndef _WIN32
  if (data != nullptr && m->length > 0) munmap(data, m->length);
#endif
  delete m;
}

}  // namespace

Napi::Value MapFile(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  if (info.Length() < 1 || !info[0].IsString()) throw Napi::TypeError::New(env, "Expected a string for path");
  const std::string path = info[0].As<Napi::String>().Utf8Value();
#ifdef _WIN32
  throw Napi::Error::New(env, "mapFile is not available on Windows");
#else
  const int fd = open(path.c_str(), O_RDONLY | O_CLOEXEC);
  if (fd < 0) throw Napi::Error::New(env, "cannot open " + path + ": " + std::strerror(errno));
  struct stat st;
  if (fstat(fd, &st) != 0) {
    const int e = errno;
    close(fd);
    throw Napi::Error::New(env, "cannot stat " + path + ": " + std::strerror(e));
  }
  const size_t length = static_cast<size_t>(st.st_size);
  if (length == 0) {
    close(fd);
    return Napi::ArrayBuffer::New(env, 0);
  }
  void* data = mmap(nullptr, length, PROT_READ | PROT_WRITE, MAP_PRIVATE, fd, 0);
  const int e = errno;
  close(fd);  // The mapping keeps the file open.
  if (data == MAP_FAILED) throw Napi::Error::New(env, "cannot map " + path + ": " + std::strerror(e));
  return Napi::ArrayBuffer::New(env, data, length, unmap, new Mapping{length});
#endif
}

}  // namespace plait
