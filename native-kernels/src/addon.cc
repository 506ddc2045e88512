// N-API bindings of the kernels. Arguments arrive as typed-array views (no copies); every size is
// checked before a kernel runs, so a bad call throws a TypeError/RangeError naming the argument
// instead of reading or writing out of bounds. The module holds no JavaScript state, so it loads
// in any number of worker threads (N-API modules are context-aware).
#include <napi.h>

#include <cmath>
#include <cstdint>
#include <string>

#include "kernels.h"
#include "file-lock.h"
#include "mmap.h"

namespace {

using Info = Napi::CallbackInfo;

template <typename T>
struct View {
  T* data;
  size_t length;
};

[[noreturn]] void typeError(const Info& info, const std::string& msg) { throw Napi::TypeError::New(info.Env(), msg); }
[[noreturn]] void rangeError(const Info& info, const std::string& msg) { throw Napi::RangeError::New(info.Env(), msg); }

template <typename T>
constexpr napi_typedarray_type arrayType();
template <>
constexpr napi_typedarray_type arrayType<float>() { return napi_float32_array; }
template <>
constexpr napi_typedarray_type arrayType<int32_t>() { return napi_int32_array; }
template <>
constexpr napi_typedarray_type arrayType<uint8_t>() { return napi_uint8_array; }
template <>
constexpr napi_typedarray_type arrayType<int16_t>() { return napi_int16_array; }
template <>
constexpr napi_typedarray_type arrayType<double>() { return napi_float64_array; }

template <typename T>
const char* arrayName() {
  if (arrayType<T>() == napi_float32_array) return "a Float32Array";
  if (arrayType<T>() == napi_int32_array) return "an Int32Array";
  if (arrayType<T>() == napi_int16_array) return "an Int16Array";
  if (arrayType<T>() == napi_float64_array) return "a Float64Array";
  return "a Uint8Array";
}

bool absent(const Info& info, size_t i) { return i >= info.Length() || info[i].IsUndefined() || info[i].IsNull(); }

template <typename T>
View<T> array(const Info& info, size_t i, const char* name) {
  if (i >= info.Length() || !info[i].IsTypedArray()) typeError(info, std::string("Expected ") + arrayName<T>() + " for " + name);
  Napi::TypedArray ta = info[i].As<Napi::TypedArray>();
  if (ta.TypedArrayType() != arrayType<T>()) typeError(info, std::string("Expected ") + arrayName<T>() + " for " + name);
  Napi::TypedArrayOf<T> view = info[i].As<Napi::TypedArrayOf<T>>();
  return View<T>{view.Data(), view.ElementLength()};
}

template <typename T>
View<T> optionalArray(const Info& info, size_t i, const char* name) {
  if (absent(info, i)) return View<T>{nullptr, 0};
  return array<T>(info, i, name);
}

// A non-negative integer below 2^31 (sizes index Int32Arrays).
size_t count(const Info& info, size_t i, const char* name) {
  if (i >= info.Length() || !info[i].IsNumber()) typeError(info, std::string("Expected a number for ") + name);
  const double v = info[i].As<Napi::Number>().DoubleValue();
  if (!(v >= 0) || v != std::floor(v) || v > 2147483647.0)
    rangeError(info, std::string("Expected a non-negative integer for ") + name + " but received " + std::to_string(v));
  return static_cast<size_t>(v);
}

size_t positive(const Info& info, size_t i, const char* name) {
  const size_t v = count(info, i, name);
  if (v == 0) rangeError(info, std::string("Expected a positive integer for ") + name + " but received 0");
  return v;
}

void need(const Info& info, const char* name, size_t have, size_t needed) {
  if (have < needed)
    rangeError(info, std::string("Expected at least ") + std::to_string(needed) + " elements in " + name +
                         " but received " + std::to_string(have));
}

int nbitsArg(const Info& info, size_t i, size_t dim) {
  const size_t nbits = count(info, i, "nbits");
  if (nbits != 1 && nbits != 2 && nbits != 4 && nbits != 8)
    rangeError(info, "Expected one of 1, 2, 4, 8 for nbits but received " + std::to_string(nbits));
  if ((dim * nbits) % 8 != 0)
    rangeError(info, "Expected dim to be a multiple of " + std::to_string(8 / nbits) + " for nbits " +
                         std::to_string(nbits) + " but received " + std::to_string(dim));
  return static_cast<int>(nbits);
}

// Each span [starts[d], starts[d] + lens[d]) must lie inside [0, rows).
void checkSpans(const Info& info, const char* startsName, const View<int32_t>& starts, const View<int32_t>& lens,
                size_t nDocs, size_t rows) {
  need(info, startsName, starts.length, nDocs);
  need(info, "doclens", lens.length, nDocs);
  for (size_t d = 0; d < nDocs; ++d) {
    const int64_t s = starts.data[d];
    const int64_t l = lens.data[d];
    if (s < 0 || l < 0 || s + l > static_cast<int64_t>(rows))
      rangeError(info, "Document " + std::to_string(d) + " spans rows [" + std::to_string(s) + ", " +
                           std::to_string(s + l) + ") but only " + std::to_string(rows) + " rows exist (" +
                           startsName + "/doclens)");
  }
}

void checkCodes(const Info& info, const int32_t* codes, size_t from, size_t to, size_t k) {
  // A branch-free pass first (it vectorises; a negative code wraps to >= k), the position of a bad
  // code only when there is one: the early-exit loop alone was 1-4% of fast-scan's time a token.
  bool bad = false;
  for (size_t i = from; i < to; ++i) bad |= static_cast<size_t>(static_cast<uint32_t>(codes[i])) >= k;
  if (!bad) return;
  for (size_t i = from; i < to; ++i)
    if (codes[i] < 0 || static_cast<size_t>(codes[i]) >= k)
      rangeError(info, "Expected codes in [0, " + std::to_string(k) + ") but codes[" + std::to_string(i) + "] is " +
                           std::to_string(codes[i]));
}

// matmulTransB(a, m, b, n, dim, out)
Napi::Value MatmulTransB(const Info& info) {
  auto a = array<float>(info, 0, "a");
  size_t m = count(info, 1, "m");
  auto b = array<float>(info, 2, "b");
  size_t n = count(info, 3, "n");
  size_t dim = positive(info, 4, "dim");
  auto out = array<float>(info, 5, "out");
  need(info, "a", a.length, m * dim);
  need(info, "b", b.length, n * dim);
  need(info, "out", out.length, m * n);
  plait::matmulTransB(a.data, m, b.data, n, dim, out.data);
  return info.Env().Undefined();
}

// assignNearest(vectors, n, centroids, k, dim, codes, bestScores?)
Napi::Value AssignNearest(const Info& info) {
  auto vectors = array<float>(info, 0, "vectors");
  size_t n = count(info, 1, "n");
  auto centroids = array<float>(info, 2, "centroids");
  size_t k = count(info, 3, "k");
  size_t dim = positive(info, 4, "dim");
  auto codes = array<int32_t>(info, 5, "codes");
  auto best = optionalArray<float>(info, 6, "bestScores");
  if (k == 0 && n > 0) rangeError(info, "assignNearest needs at least one centroid");
  need(info, "vectors", vectors.length, n * dim);
  need(info, "centroids", centroids.length, k * dim);
  need(info, "codes", codes.length, n);
  if (best.data != nullptr) need(info, "bestScores", best.length, n);
  plait::assignNearest(vectors.data, n, centroids.data, k, dim, codes.data, best.data);
  return info.Env().Undefined();
}

// assignNearestRows(vectors, rows, nRows, centroids, k, dim, codes, bestScores?)
Napi::Value AssignNearestRows(const Info& info) {
  auto vectors = array<float>(info, 0, "vectors");
  auto rows = array<int32_t>(info, 1, "rows");
  size_t nRows = count(info, 2, "nRows");
  auto centroids = array<float>(info, 3, "centroids");
  size_t k = count(info, 4, "k");
  size_t dim = positive(info, 5, "dim");
  auto codes = array<int32_t>(info, 6, "codes");
  auto best = optionalArray<float>(info, 7, "bestScores");
  if (k == 0 && nRows > 0) rangeError(info, "assignNearestRows needs at least one centroid");
  need(info, "rows", rows.length, nRows);
  need(info, "centroids", centroids.length, k * dim);
  need(info, "codes", codes.length, nRows);
  if (best.data != nullptr) need(info, "bestScores", best.length, nRows);
  const size_t nVectors = vectors.length / dim;
  for (size_t i = 0; i < nRows; ++i)
    if (rows.data[i] < 0 || static_cast<size_t>(rows.data[i]) >= nVectors)
      rangeError(info, "Expected rows in [0, " + std::to_string(nVectors) + ") but rows[" + std::to_string(i) + "] is " +
                           std::to_string(rows.data[i]));
  plait::assignNearestRows(vectors.data, rows.data, nRows, centroids.data, k, dim, codes.data, best.data);
  return info.Env().Undefined();
}

struct Query {
  View<float> q;
  size_t qLen, dim;
};

Query queryArgs(const Info& info) {
  auto q = array<float>(info, 0, "q");
  size_t qLen = count(info, 1, "qLen");
  size_t dim = positive(info, 2, "dim");
  need(info, "q", q.length, qLen * dim);
  return Query{q, qLen, dim};
}

// maxsim(q, qLen, dim, docs, docStarts, doclens, nDocs, out, qWeights?)
Napi::Value Maxsim(const Info& info) {
  Query qa = queryArgs(info);
  auto docs = array<float>(info, 3, "docs");
  auto starts = array<int32_t>(info, 4, "docStarts");
  auto lens = array<int32_t>(info, 5, "doclens");
  size_t nDocs = count(info, 6, "nDocs");
  auto out = array<float>(info, 7, "out");
  auto w = optionalArray<float>(info, 8, "qWeights");
  if (w.data != nullptr) need(info, "qWeights", w.length, qa.qLen);
  checkSpans(info, "docStarts", starts, lens, nDocs, docs.length / qa.dim);
  need(info, "out", out.length, nDocs);
  plait::maxsim(qa.q.data, qa.qLen, qa.dim, docs.data, starts.data, lens.data, nDocs, out.data, w.data);
  return info.Env().Undefined();
}

// compress(vectors, n, dim, centroids, codes, cutoffs, nbits, out)
Napi::Value Compress(const Info& info) {
  auto vectors = array<float>(info, 0, "vectors");
  size_t n = count(info, 1, "n");
  size_t dim = positive(info, 2, "dim");
  auto centroids = array<float>(info, 3, "centroids");
  auto codes = array<int32_t>(info, 4, "codes");
  auto cutoffs = array<float>(info, 5, "cutoffs");
  int nbits = nbitsArg(info, 6, dim);
  auto out = array<uint8_t>(info, 7, "out");
  need(info, "vectors", vectors.length, n * dim);
  need(info, "codes", codes.length, n);
  checkCodes(info, codes.data, 0, n, centroids.length / dim);
  need(info, "cutoffs", cutoffs.length, (static_cast<size_t>(1) << nbits) - 1);
  need(info, "out", out.length, n * dim * nbits / 8);
  plait::compress(vectors.data, n, dim, centroids.data, codes.data, cutoffs.data, nbits, out.data);
  return info.Env().Undefined();
}

// decompress(codes, residuals, n, dim, centroids, weights, nbits, out)
Napi::Value Decompress(const Info& info) {
  auto codes = array<int32_t>(info, 0, "codes");
  auto residuals = array<uint8_t>(info, 1, "residuals");
  size_t n = count(info, 2, "n");
  size_t dim = positive(info, 3, "dim");
  auto centroids = array<float>(info, 4, "centroids");
  auto weights = array<float>(info, 5, "weights");
  int nbits = nbitsArg(info, 6, dim);
  auto out = array<float>(info, 7, "out");
  need(info, "codes", codes.length, n);
  checkCodes(info, codes.data, 0, n, centroids.length / dim);
  need(info, "residuals", residuals.length, n * dim * nbits / 8);
  need(info, "weights", weights.length, static_cast<size_t>(1) << nbits);
  need(info, "out", out.length, n * dim);
  plait::decompress(codes.data, residuals.data, n, dim, centroids.data, weights.data, nbits, out.data);
  return info.Env().Undefined();
}

// maxsimCompressed(q, qLen, dim, codes, residuals, tokenStarts, doclens, nDocs, centroids, weights, nbits, out,
//                  qWeights?)
Napi::Value MaxsimCompressed(const Info& info) {
  Query qa = queryArgs(info);
  auto codes = array<int32_t>(info, 3, "codes");
  auto residuals = array<uint8_t>(info, 4, "residuals");
  auto starts = array<int32_t>(info, 5, "tokenStarts");
  auto lens = array<int32_t>(info, 6, "doclens");
  size_t nDocs = count(info, 7, "nDocs");
  auto centroids = array<float>(info, 8, "centroids");
  auto weights = array<float>(info, 9, "weights");
  int nbits = nbitsArg(info, 10, qa.dim);
  auto out = array<float>(info, 11, "out");
  auto w = optionalArray<float>(info, 12, "qWeights");
  if (w.data != nullptr) need(info, "qWeights", w.length, qa.qLen);
  need(info, "weights", weights.length, static_cast<size_t>(1) << nbits);
  const size_t bytesPerRow = qa.dim * nbits / 8;
  const size_t rows = std::min(codes.length, residuals.length / bytesPerRow);
  checkSpans(info, "tokenStarts", starts, lens, nDocs, rows);
  const size_t k = centroids.length / qa.dim;
  for (size_t d = 0; d < nDocs; ++d)
    checkCodes(info, codes.data, static_cast<size_t>(starts.data[d]),
               static_cast<size_t>(starts.data[d]) + static_cast<size_t>(lens.data[d]), k);
  need(info, "out", out.length, nDocs);
  plait::maxsimCompressed(qa.q.data, qa.qLen, qa.dim, codes.data, residuals.data, starts.data, lens.data, nDocs,
                          centroids.data, weights.data, nbits, out.data, w.data);
  return info.Env().Undefined();
}

// ---- ternary codec (issue 22; ternary-kernels.cc): the compress / decompress / maxsimCompressed
// arguments without nbits (src/kernels/native-loader.ts routes nbits = TERNARY_NBITS here) ----

// compressTernary(vectors, n, dim, centroids, codes, cutoffs, out)
Napi::Value CompressTernary(const Info& info) {
  auto vectors = array<float>(info, 0, "vectors");
  size_t n = count(info, 1, "n");
  size_t dim = positive(info, 2, "dim");
  auto centroids = array<float>(info, 3, "centroids");
  auto codes = array<int32_t>(info, 4, "codes");
  auto cutoffs = array<float>(info, 5, "cutoffs");
  auto out = array<uint8_t>(info, 6, "out");
  need(info, "vectors", vectors.length, n * dim);
  need(info, "codes", codes.length, n);
  checkCodes(info, codes.data, 0, n, centroids.length / dim);
  need(info, "cutoffs", cutoffs.length, 2);
  need(info, "out", out.length, n * plait::ternaryBytes(dim));
  plait::compressTernary(vectors.data, n, dim, centroids.data, codes.data, cutoffs.data, out.data);
  return info.Env().Undefined();
}

// decompressTernary(codes, residuals, n, dim, centroids, weights, out)
Napi::Value DecompressTernary(const Info& info) {
  auto codes = array<int32_t>(info, 0, "codes");
  auto residuals = array<uint8_t>(info, 1, "residuals");
  size_t n = count(info, 2, "n");
  size_t dim = positive(info, 3, "dim");
  auto centroids = array<float>(info, 4, "centroids");
  auto weights = array<float>(info, 5, "weights");
  auto out = array<float>(info, 6, "out");
  need(info, "codes", codes.length, n);
  checkCodes(info, codes.data, 0, n, centroids.length / dim);
  need(info, "residuals", residuals.length, n * plait::ternaryBytes(dim));
  need(info, "weights", weights.length, 3);
  need(info, "out", out.length, n * dim);
  plait::decompressTernary(codes.data, residuals.data, n, dim, centroids.data, weights.data, out.data);
  return info.Env().Undefined();
}

// maxsimCompressedTernary(q, qLen, dim, codes, residuals, tokenStarts, doclens, nDocs, centroids, weights, out,
//                         qWeights?)
Napi::Value MaxsimCompressedTernary(const Info& info) {
  Query qa = queryArgs(info);
  auto codes = array<int32_t>(info, 3, "codes");
  auto residuals = array<uint8_t>(info, 4, "residuals");
  auto starts = array<int32_t>(info, 5, "tokenStarts");
  auto lens = array<int32_t>(info, 6, "doclens");
  size_t nDocs = count(info, 7, "nDocs");
  auto centroids = array<float>(info, 8, "centroids");
  auto weights = array<float>(info, 9, "weights");
  auto out = array<float>(info, 10, "out");
  auto w = optionalArray<float>(info, 11, "qWeights");
  if (w.data != nullptr) need(info, "qWeights", w.length, qa.qLen);
  need(info, "weights", weights.length, 3);
  const size_t rows = std::min(codes.length, residuals.length / plait::ternaryBytes(qa.dim));
  checkSpans(info, "tokenStarts", starts, lens, nDocs, rows);
  const size_t k = centroids.length / qa.dim;
  for (size_t d = 0; d < nDocs; ++d)
    checkCodes(info, codes.data, static_cast<size_t>(starts.data[d]),
               static_cast<size_t>(starts.data[d]) + static_cast<size_t>(lens.data[d]), k);
  need(info, "out", out.length, nDocs);
  plait::maxsimCompressedTernary(qa.q.data, qa.qLen, qa.dim, codes.data, residuals.data, starts.data, lens.data,
                                 nDocs, centroids.data, weights.data, out.data, w.data);
  return info.Env().Undefined();
}

// ---- end of the ternary codec ----

// centroidInteraction(centroidScores, qLen, codes, tokenStarts, doclens, nDocs, keep, out, qWeights?)
Napi::Value CentroidInteraction(const Info& info) {
  auto scores = array<float>(info, 0, "centroidScores");
  size_t qLen = count(info, 1, "qLen");
  auto codes = array<int32_t>(info, 2, "codes");
  auto starts = array<int32_t>(info, 3, "tokenStarts");
  auto lens = array<int32_t>(info, 4, "doclens");
  size_t nDocs = count(info, 5, "nDocs");
  auto keep = optionalArray<uint8_t>(info, 6, "keep");
  auto out = array<float>(info, 7, "out");
  auto w = optionalArray<float>(info, 8, "qWeights");
  if (w.data != nullptr) need(info, "qWeights", w.length, qLen);
  const size_t k = qLen == 0 ? 0 : scores.length / qLen;
  if (keep.data != nullptr) need(info, "keep", keep.length, k);
  checkSpans(info, "tokenStarts", starts, lens, nDocs, codes.length);
  need(info, "out", out.length, nDocs);
  if (qLen == 0) {
    for (size_t d = 0; d < nDocs; ++d) out.data[d] = 0.f;
    return info.Env().Undefined();
  }
  for (size_t d = 0; d < nDocs; ++d)
    checkCodes(info, codes.data, static_cast<size_t>(starts.data[d]),
               static_cast<size_t>(starts.data[d]) + static_cast<size_t>(lens.data[d]), k);
  plait::centroidInteraction(scores.data, qLen, codes.data, starts.data, lens.data, nDocs, keep.data, out.data, w.data);
  return info.Env().Undefined();
}

// ivfInteraction(centroidScores, qLen, kept, bounds, entries, pids, out, qWeights?)
Napi::Value IvfInteraction(const Info& info) {
  auto scores = array<float>(info, 0, "centroidScores");
  size_t qLen = count(info, 1, "qLen");
  auto kept = array<int32_t>(info, 2, "kept");
  auto bounds = array<int32_t>(info, 3, "bounds");
  auto entries = array<int32_t>(info, 4, "entries");
  auto pids = array<int32_t>(info, 5, "pids");
  auto out = array<float>(info, 6, "out");
  auto w = optionalArray<float>(info, 7, "qWeights");
  if (w.data != nullptr) need(info, "qWeights", w.length, qLen);
  const size_t k = qLen == 0 ? 0 : scores.length / qLen;
  need(info, "bounds", bounds.length, kept.length + 1);
  need(info, "out", out.length, pids.length);
  for (size_t i = 0; qLen > 0 && i < kept.length; ++i)
    if (kept.data[i] < 0 || static_cast<size_t>(kept.data[i]) >= k) rangeError(info, "Expected kept centroids below " + std::to_string(k) + " but received " + std::to_string(kept.data[i]));
  for (size_t i = 0; i <= kept.length; ++i) {
    const int32_t b = bounds.data[i];
    if (b < 0 || static_cast<size_t>(b) > entries.length || (i > 0 && b < bounds.data[i - 1]))
      rangeError(info, "Expected bounds ascending within entries (" + std::to_string(entries.length) + ") but received " + std::to_string(b));
  }
  for (size_t i = 1; i < pids.length; ++i)
    if (pids.data[i] <= pids.data[i - 1]) rangeError(info, "Expected pids in ascending order but received " + std::to_string(pids.data[i]) + " after " + std::to_string(pids.data[i - 1]));
  if (qLen == 0) {
    for (size_t d = 0; d < pids.length; ++d) out.data[d] = 0.f;
    return info.Env().Undefined();
  }
  plait::ivfInteraction(scores.data, qLen, kept.data, bounds.data, kept.length, entries.data, pids.data, pids.length, out.data, w.data);
  return info.Env().Undefined();
}

// centroidEstimateWalk(centroidScores, qLen, top, cells, ivfOffsets, ivf, nPassages, pids, qWeights, est, ci)
// (probed-walk.cc; issue 22 part E). Checks what the walk reads: the walked cells' offsets and every pid.
Napi::Value CentroidEstimateWalk(const Info& info) {
  auto scores = array<float>(info, 0, "centroidScores");
  size_t qLen = count(info, 1, "qLen");
  auto top = array<int32_t>(info, 2, "top");
  size_t cells = count(info, 3, "cells");
  auto offsets = array<double>(info, 4, "ivfOffsets");
  auto ivf = array<int32_t>(info, 5, "ivf");
  size_t nPassages = count(info, 6, "nPassages");
  auto pids = array<int32_t>(info, 7, "pids");
  auto w = optionalArray<float>(info, 8, "qWeights");
  auto est = array<float>(info, 9, "est");
  auto ci = array<float>(info, 10, "ci");
  const size_t n = pids.length;
  const size_t k = offsets.length == 0 ? 0 : offsets.length - 1;
  need(info, "centroidScores", scores.length, k * qLen);
  need(info, "top", top.length, qLen * cells);
  need(info, "est", est.length, qLen * n);
  need(info, "ci", ci.length, n);
  if (w.data != nullptr) need(info, "qWeights", w.length, qLen);
  for (size_t d = 0; d < n; ++d)
    if (pids.data[d] < 0 || static_cast<size_t>(pids.data[d]) >= nPassages)
      rangeError(info, "Expected pids below " + std::to_string(nPassages) + " but received " + std::to_string(pids.data[d]));
  for (size_t t = 0; t < qLen * cells; ++t) {
    const int32_t c = top.data[t];
    if (c >= 0 && static_cast<size_t>(c) >= k) rangeError(info, "Expected top cells below " + std::to_string(k) + " but received " + std::to_string(c));
    if (c >= 0 && !(offsets.data[c] >= 0 && offsets.data[c] <= offsets.data[c + 1] && offsets.data[c + 1] <= static_cast<double>(ivf.length)))
      rangeError(info, "Expected ivfOffsets ascending within ivf (" + std::to_string(ivf.length) + ") but received " + std::to_string(offsets.data[c + 1]));
  }
  const int64_t bad = plait::centroidEstimateWalk(scores.data, qLen, top.data, cells, offsets.data, ivf.data, nPassages, pids.data, n, w.data, est.data, ci.data);
  if (bad >= 0) rangeError(info, "Expected ivf passages below " + std::to_string(nPassages) + " but received " + std::to_string(ivf.data[bad]));
  return info.Env().Undefined();
}

// probedPairs(codes, tokenStarts, doclens, pids, docs, head, next, perToken, qLen, first, rows, docOf) -> total
// (probed-walk.cc; issue 22 part E). Checks every candidate's span and index; codes and slots in the kernel.
Napi::Value ProbedPairs(const Info& info) {
  auto codes = array<int32_t>(info, 0, "codes");
  auto starts = array<int32_t>(info, 1, "tokenStarts");
  auto lens = array<int32_t>(info, 2, "doclens");
  auto pids = array<int32_t>(info, 3, "pids");
  auto docs = array<int32_t>(info, 4, "docs");
  auto head = array<int32_t>(info, 5, "head");
  auto next = array<int32_t>(info, 6, "next");
  size_t perToken = positive(info, 7, "perToken");
  size_t qLen = count(info, 8, "qLen");
  auto first = array<int32_t>(info, 9, "first");
  auto rows = array<int32_t>(info, 10, "rows");
  auto docOf = array<int32_t>(info, 11, "docOf");
  need(info, "first", first.length, qLen + 1);
  need(info, "docOf", docOf.length, rows.length);
  if (next.length > qLen * perToken) rangeError(info, "Expected at most " + std::to_string(qLen * perToken) + " elements in next but received " + std::to_string(next.length));
  need(info, "doclens", lens.length, starts.length);
  for (size_t x = 0; x < docs.length; ++x) {
    const int32_t d = docs.data[x];
    if (d < 0 || static_cast<size_t>(d) >= pids.length) rangeError(info, "Expected docs below " + std::to_string(pids.length) + " but received " + std::to_string(d));
    const int32_t pid = pids.data[d];
    if (pid < 0 || static_cast<size_t>(pid) >= starts.length) rangeError(info, "Expected pids below " + std::to_string(starts.length) + " but received " + std::to_string(pid));
    const int64_t lo = starts.data[pid];
    const int64_t hi = lo + lens.data[pid];
    if (lo < 0 || lens.data[pid] < 0 || hi > static_cast<int64_t>(codes.length)) rangeError(info, "Expected token spans within codes (" + std::to_string(codes.length) + ") but received " + std::to_string(lo) + " + " + std::to_string(lens.data[pid]));
  }
  const int64_t total = plait::probedPairs(codes.data, starts.data, lens.data, pids.data, docs.data, docs.length, head.data, head.length,
                                           next.data, next.length, perToken, qLen, first.data, rows.data, docOf.data, rows.length);
  if (total < 0) rangeError(info, "Expected codes below " + std::to_string(head.length) + " and probe slots below " + std::to_string(next.length) + " in probedPairs");
  return Napi::Number::New(info.Env(), static_cast<double>(total));
}

// topK(scores, n, k) -> Int32Array
Napi::Value TopK(const Info& info) {
  auto scores = array<float>(info, 0, "scores");
  size_t n = count(info, 1, "n");
  size_t k = count(info, 2, "k");
  need(info, "scores", scores.length, n);
  const size_t size = std::min(n, k);
  Napi::Int32Array result = Napi::Int32Array::New(info.Env(), size);
  plait::topK(scores.data, n, k, result.Data());
  return result;
}

// probeCentroids(centroidScores, nCentroids, qLen, nProbe, threshold, probed, keep, rowMax?)
Napi::Value ProbeCentroids(const Info& info) {
  auto scores = array<float>(info, 0, "centroidScores");
  size_t k = count(info, 1, "nCentroids");
  size_t qLen = count(info, 2, "qLen");
  size_t p = count(info, 3, "nProbe");
  if (info.Length() <= 4 || !info[4].IsNumber()) typeError(info, "Expected a number for threshold");
  const double threshold = info[4].As<Napi::Number>().DoubleValue();
  auto probed = array<int32_t>(info, 5, "probed");
  auto keep = array<uint8_t>(info, 6, "keep");
  need(info, "centroidScores", scores.length, k * qLen);
  need(info, "probed", probed.length, qLen * p);
  need(info, "keep", keep.length, k);
  auto rowMax = optionalArray<float>(info, 7, "rowMax");
  if (rowMax.data != nullptr) need(info, "rowMax", rowMax.length, k);
  plait::probeCentroids(scores.data, k, qLen, p, threshold, probed.data, keep.data, rowMax.data);
  return info.Env().Undefined();
}

// centroidScoresInt8(centroids, centroidScales, nCentroids, dim, queryPanel, queryScales, corrections, qLen, out, rowMax?)
Napi::Value CentroidScoresInt8(const Info& info) {
  auto centroids = array<uint8_t>(info, 0, "centroids");
  auto cScales = array<float>(info, 1, "centroidScales");
  size_t k = count(info, 2, "nCentroids");
  size_t dim = positive(info, 3, "dim");
  auto panel = array<uint8_t>(info, 4, "queryPanel");
  auto qScales = array<float>(info, 5, "queryScales");
  auto corrections = array<int32_t>(info, 6, "corrections");
  size_t qLen = count(info, 7, "qLen");
  auto out = array<float>(info, 8, "out");
  if (dim % 4 != 0 || dim > 512) rangeError(info, "Expected dim to be a multiple of 4 and at most 512 but received " + std::to_string(dim));
  const size_t chunks = (qLen + 15) / 16;
  need(info, "centroids", centroids.length, k * dim);
  need(info, "centroidScales", cScales.length, k);
  need(info, "queryPanel", panel.length, chunks * 16 * dim);
  need(info, "queryScales", qScales.length, qLen);
  need(info, "corrections", corrections.length, qLen);
  need(info, "out", out.length, k * qLen);
  auto rowMax = optionalArray<float>(info, 9, "rowMax");
  if (rowMax.data != nullptr) need(info, "rowMax", rowMax.length, k);
  plait::centroidScoresInt8(centroids.data, cScales.data, k, dim, panel.data, qScales.data, corrections.data, qLen, out.data,
                            rowMax.data);
  return info.Env().Undefined();
}

// keepWithinMargin(centroidScores, nCentroids, qLen, floor, keep, rowMax?)
Napi::Value KeepWithinMargin(const Info& info) {
  auto scores = array<float>(info, 0, "centroidScores");
  size_t k = count(info, 1, "nCentroids");
  size_t qLen = count(info, 2, "qLen");
  auto floor = array<float>(info, 3, "floor");
  auto keep = array<uint8_t>(info, 4, "keep");
  need(info, "centroidScores", scores.length, k * qLen);
  need(info, "floor", floor.length, qLen);
  need(info, "keep", keep.length, k);
  auto rowMax = optionalArray<float>(info, 5, "rowMax");
  if (rowMax.data != nullptr) need(info, "rowMax", rowMax.length, k);
  plait::keepWithinMargin(scores.data, k, qLen, floor.data, keep.data, rowMax.data);
  return info.Env().Undefined();
}

Napi::Value IntDotPathValue(const Info& info) { return Napi::String::New(info.Env(), plait::intDotPathName(plait::intDotPath())); }
Napi::Value FastScanPathValue(const Info& info) { return Napi::String::New(info.Env(), plait::fastScanPathName(plait::fastScanPath())); }
// ---- Exact MaxSim on the stored codes (code-maxsim.cc, issue 22) ----

int codeNbitsArg(const Info& info, size_t i, size_t dim) {
  const size_t nbits = count(info, i, "nbits");
  if (nbits != 1 && nbits != 2 && nbits != 4)
    rangeError(info, "Expected one of 1, 2, 4 for nbits in code scoring but received " + std::to_string(nbits));
  if ((dim * nbits) % 8 != 0)
    rangeError(info, "Expected dim to be a multiple of " + std::to_string(8 / nbits) + " for nbits " +
                         std::to_string(nbits) + " but received " + std::to_string(dim));
  return static_cast<int>(nbits);
}

// buildCodeLut(q, qLen, dim, weights, nbits, lut, scales)
Napi::Value BuildCodeLut(const Info& info) {
  auto q = array<float>(info, 0, "q");
  size_t qLen = count(info, 1, "qLen");
  size_t dim = positive(info, 2, "dim");
  auto weights = array<float>(info, 3, "weights");
  int nbits = codeNbitsArg(info, 4, dim);
  auto lut = array<int16_t>(info, 5, "lut");
  auto scales = array<float>(info, 6, "scales");
  const size_t lanes = plait::codeLutLanes(qLen);
  need(info, "q", q.length, qLen * dim);
  need(info, "weights", weights.length, static_cast<size_t>(1) << nbits);
  need(info, "lut", lut.length, dim * nbits / 8 * 256 * lanes);
  need(info, "scales", scales.length, lanes);
  plait::buildCodeLut(q.data, qLen, dim, weights.data, nbits, lut.data, scales.data);
  return info.Env().Undefined();
}

// maxsimCodes(centroidScores, qLen, lut, scales, codes, residuals, dim, nbits, tokenStarts, doclens, nDocs,
//             centroidNormsSq?, weights, out, qWeights?)
Napi::Value MaxsimCodes(const Info& info) {
  auto scores = array<float>(info, 0, "centroidScores");
  size_t qLen = count(info, 1, "qLen");
  auto lut = array<int16_t>(info, 2, "lut");
  auto scales = array<float>(info, 3, "scales");
  auto codes = array<int32_t>(info, 4, "codes");
  auto residuals = array<uint8_t>(info, 5, "residuals");
  size_t dim = positive(info, 6, "dim");
  int nbits = codeNbitsArg(info, 7, dim);
  auto starts = array<int32_t>(info, 8, "tokenStarts");
  auto lens = array<int32_t>(info, 9, "doclens");
  size_t nDocs = count(info, 10, "nDocs");
  auto cn2 = optionalArray<float>(info, 11, "centroidNormsSq");
  auto weights = array<float>(info, 12, "weights");
  auto out = array<float>(info, 13, "out");
  auto w = optionalArray<float>(info, 14, "qWeights");
  const size_t nBytes = dim * nbits / 8;
  const size_t lanes = plait::codeLutLanes(qLen);
  const size_t k = qLen == 0 ? 0 : scores.length / qLen;
  need(info, "lut", lut.length, nBytes * 256 * lanes);
  need(info, "scales", scales.length, lanes);
  need(info, "weights", weights.length, static_cast<size_t>(1) << nbits);
  checkSpans(info, "tokenStarts", starts, lens, nDocs, std::min(codes.length, residuals.length / nBytes));
  need(info, "out", out.length, nDocs);
  if (w.data != nullptr) need(info, "qWeights", w.length, qLen);
  if (cn2.data != nullptr) need(info, "centroidNormsSq", cn2.length, k);
  for (size_t d = 0; d < nDocs; ++d)
    checkCodes(info, codes.data, static_cast<size_t>(starts.data[d]),
               static_cast<size_t>(starts.data[d]) + static_cast<size_t>(lens.data[d]), k);
  plait::maxsimCodes(scores.data, qLen, lut.data, scales.data, codes.data, residuals.data, dim, nbits, starts.data,
                     lens.data, nDocs, cn2.data, weights.data, out.data, w.data);
  return info.Env().Undefined();
}

// buildFastScanTables(q, qLen, dim, weights, nbits, tables, scales, offsets)
Napi::Value BuildFastScanTables(const Info& info) {
  auto q = array<float>(info, 0, "q");
  size_t qLen = count(info, 1, "qLen");
  size_t dim = positive(info, 2, "dim");
  auto weights = array<float>(info, 3, "weights");
  int nbits = codeNbitsArg(info, 4, dim);
  auto tables = array<uint8_t>(info, 5, "tables");
  auto scales = array<float>(info, 6, "scales");
  auto offsets = array<float>(info, 7, "offsets");
  const size_t nBytes = dim * nbits / 8;
  if (nBytes > plait::fastScanMaxBytes())
    rangeError(info, "Expected dim * nbits / 8 <= " + std::to_string(plait::fastScanMaxBytes()) +
                         " for fast-scan but received " + std::to_string(nBytes));
  need(info, "q", q.length, qLen * dim);
  need(info, "weights", weights.length, static_cast<size_t>(1) << nbits);
  need(info, "tables", tables.length, nBytes * 32 * qLen);
  need(info, "scales", scales.length, qLen);
  need(info, "offsets", offsets.length, qLen);
  plait::buildFastScanTables(q.data, qLen, dim, weights.data, nbits, tables.data, scales.data, offsets.data);
  return info.Env().Undefined();
}

// maxsimFastScan(centroidScores, qLen, tables, scales, offsets, codes, residuals, dim, nbits, tokenStarts, doclens,
//                nDocs, out, qWeights?, invNorms?, centroids?, weights?)
Napi::Value MaxsimFastScan(const Info& info) {
  auto scores = array<float>(info, 0, "centroidScores");
  size_t qLen = count(info, 1, "qLen");
  auto tables = array<uint8_t>(info, 2, "tables");
  auto scales = array<float>(info, 3, "scales");
  auto offsets = array<float>(info, 4, "offsets");
  auto codes = array<int32_t>(info, 5, "codes");
  auto residuals = array<uint8_t>(info, 6, "residuals");
  size_t dim = positive(info, 7, "dim");
  int nbits = codeNbitsArg(info, 8, dim);
  auto starts = array<int32_t>(info, 9, "tokenStarts");
  auto lens = array<int32_t>(info, 10, "doclens");
  size_t nDocs = count(info, 11, "nDocs");
  auto out = array<float>(info, 12, "out");
  auto w = optionalArray<float>(info, 13, "qWeights");
  auto invNorms = optionalArray<float>(info, 14, "invNorms");
  auto centroids = optionalArray<float>(info, 15, "centroids");
  auto weights = optionalArray<float>(info, 16, "weights");
  const size_t nBytes = dim * nbits / 8;
  if (nBytes > plait::fastScanMaxBytes())
    rangeError(info, "Expected dim * nbits / 8 <= " + std::to_string(plait::fastScanMaxBytes()) +
                         " for fast-scan but received " + std::to_string(nBytes));
  const size_t k = qLen == 0 ? 0 : scores.length / qLen;
  need(info, "tables", tables.length, nBytes * 32 * qLen);
  need(info, "scales", scales.length, qLen);
  need(info, "offsets", offsets.length, qLen);
  checkSpans(info, "tokenStarts", starts, lens, nDocs, std::min(codes.length, residuals.length / nBytes));
  need(info, "out", out.length, nDocs);
  if (w.data != nullptr) need(info, "qWeights", w.length, qLen);
  for (size_t d = 0; d < nDocs; ++d)
    checkCodes(info, codes.data, static_cast<size_t>(starts.data[d]),
               static_cast<size_t>(starts.data[d]) + static_cast<size_t>(lens.data[d]), k);
  if (invNorms.data != nullptr) {
    need(info, "invNorms", invNorms.length, codes.length);
    if (centroids.data == nullptr || weights.data == nullptr)
      rangeError(info, "Expected centroids and weights with invNorms");
    // The norm is summed eight dimensions at a time (fast-scan.cc inverseNorms): no partial group.
    if (dim % 8 != 0)
      rangeError(info, "Expected dim a multiple of 8 with invNorms but received " + std::to_string(dim));
    need(info, "centroids", centroids.length, k * dim);
    need(info, "weights", weights.length, static_cast<size_t>(1) << nbits);
  }
  plait::maxsimFastScan(scores.data, qLen, tables.data, scales.data, offsets.data, codes.data, residuals.data, dim,
                        nbits, starts.data, lens.data, nDocs, out.data, w.data, invNorms.data, centroids.data,
                        weights.data);
  return info.Env().Undefined();
}

// fastScanTokenSimilarities(centroidScores, qLen, tables, scales, offsets, codes, residuals, dim, nbits, start, len,
//                           out, invNorms?, centroids?, weights?): one passage's per-token fast-scan scores,
// out[i * len + t] (fast-scan.cc; the highlights' and explain's similarities).
Napi::Value FastScanTokenSimilarities(const Info& info) {
  auto scores = array<float>(info, 0, "centroidScores");
  size_t qLen = count(info, 1, "qLen");
  auto tables = array<uint8_t>(info, 2, "tables");
  auto scales = array<float>(info, 3, "scales");
  auto offsets = array<float>(info, 4, "offsets");
  auto codes = array<int32_t>(info, 5, "codes");
  auto residuals = array<uint8_t>(info, 6, "residuals");
  size_t dim = positive(info, 7, "dim");
  int nbits = codeNbitsArg(info, 8, dim);
  size_t start = count(info, 9, "start");
  size_t len = count(info, 10, "len");
  auto out = array<float>(info, 11, "out");
  auto invNorms = optionalArray<float>(info, 12, "invNorms");
  auto centroids = optionalArray<float>(info, 13, "centroids");
  auto weights = optionalArray<float>(info, 14, "weights");
  const size_t nBytes = dim * nbits / 8;
  if (nBytes > plait::fastScanMaxBytes())
    rangeError(info, "Expected dim * nbits / 8 <= " + std::to_string(plait::fastScanMaxBytes()) +
                         " for fast-scan but received " + std::to_string(nBytes));
  const size_t k = qLen == 0 ? 0 : scores.length / qLen;
  need(info, "tables", tables.length, nBytes * 32 * qLen);
  need(info, "scales", scales.length, qLen);
  need(info, "offsets", offsets.length, qLen);
  const size_t rows = std::min(codes.length, residuals.length / nBytes);
  if (start > rows || len > rows - start)
    rangeError(info, "Expected start + len <= " + std::to_string(rows) + " rows but received start " +
                         std::to_string(start) + " and len " + std::to_string(len));
  need(info, "out", out.length, qLen * len);
  checkCodes(info, codes.data, start, start + len, k);
  if (invNorms.data != nullptr) {
    need(info, "invNorms", invNorms.length, codes.length);
    if (centroids.data == nullptr || weights.data == nullptr)
      rangeError(info, "Expected centroids and weights with invNorms");
    if (dim % 8 != 0)
      rangeError(info, "Expected dim a multiple of 8 with invNorms but received " + std::to_string(dim));
    need(info, "centroids", centroids.length, k * dim);
    need(info, "weights", weights.length, static_cast<size_t>(1) << nbits);
  }
  plait::fastScanTokenSimilarities(scores.data, qLen, tables.data, scales.data, offsets.data, codes.data,
                                   residuals.data, dim, nbits, start, len, out.data, invNorms.data, centroids.data,
                                   weights.data);
  return info.Env().Undefined();
}

// probedPairScores(centroidScores, qLen, tables, scales, offsets, codes, residuals, dim, nbits, tokenStarts, doclens,
//                  pids, docs, head, next, perToken, invNorms, centroids, weights, e) (probed-scores.cc; issue 22
// part F). Checks every candidate's span and index and the shapes; codes and probe slots in the kernel.
Napi::Value ProbedPairScores(const Info& info) {
  auto scores = array<float>(info, 0, "centroidScores");
  size_t qLen = count(info, 1, "qLen");
  auto tables = array<uint8_t>(info, 2, "tables");
  auto scales = array<float>(info, 3, "scales");
  auto offsets = array<float>(info, 4, "offsets");
  auto codes = array<int32_t>(info, 5, "codes");
  auto residuals = array<uint8_t>(info, 6, "residuals");
  size_t dim = positive(info, 7, "dim");
  int nbits = codeNbitsArg(info, 8, dim);
  auto starts = array<int32_t>(info, 9, "tokenStarts");
  auto lens = array<int32_t>(info, 10, "doclens");
  auto pids = array<int32_t>(info, 11, "pids");
  auto docs = array<int32_t>(info, 12, "docs");
  auto head = array<int32_t>(info, 13, "head");
  auto next = array<int32_t>(info, 14, "next");
  size_t perToken = positive(info, 15, "perToken");
  auto invNorms = array<float>(info, 16, "invNorms");
  auto centroids = array<float>(info, 17, "centroids");
  auto weights = array<float>(info, 18, "weights");
  auto e = array<float>(info, 19, "e");
  const size_t nBytes = dim * nbits / 8;
  if (nBytes > plait::fastScanMaxBytes())
    rangeError(info, "Expected dim * nbits / 8 <= " + std::to_string(plait::fastScanMaxBytes()) + " for fast-scan but received " + std::to_string(nBytes));
  if (dim % 8 != 0) rangeError(info, "Expected dim a multiple of 8 with invNorms but received " + std::to_string(dim));
  const size_t k = head.length;
  need(info, "centroidScores", scores.length, k * qLen);
  need(info, "tables", tables.length, nBytes * 32 * qLen);
  need(info, "scales", scales.length, qLen);
  need(info, "offsets", offsets.length, qLen);
  need(info, "doclens", lens.length, starts.length);
  need(info, "invNorms", invNorms.length, codes.length);
  need(info, "centroids", centroids.length, k * dim);
  need(info, "weights", weights.length, static_cast<size_t>(1) << nbits);
  need(info, "e", e.length, pids.length * qLen);
  if (next.length > qLen * perToken) rangeError(info, "Expected at most " + std::to_string(qLen * perToken) + " elements in next but received " + std::to_string(next.length));
  const size_t rows = std::min(codes.length, residuals.length / nBytes);
  for (size_t x = 0; x < docs.length; ++x) {
    const int32_t d = docs.data[x];
    if (d < 0 || static_cast<size_t>(d) >= pids.length) rangeError(info, "Expected docs below " + std::to_string(pids.length) + " but received " + std::to_string(d));
    const int32_t pid = pids.data[d];
    if (pid < 0 || static_cast<size_t>(pid) >= starts.length) rangeError(info, "Expected pids below " + std::to_string(starts.length) + " but received " + std::to_string(pid));
    const int64_t lo = starts.data[pid];
    const int64_t hi = lo + lens.data[pid];
    if (lo < 0 || lens.data[pid] < 0 || hi > static_cast<int64_t>(rows)) rangeError(info, "Expected token spans within the rows (" + std::to_string(rows) + ") but received " + std::to_string(lo) + " + " + std::to_string(lens.data[pid]));
  }
  if (!plait::probedPairScores(scores.data, qLen, tables.data, scales.data, offsets.data, codes.data, residuals.data, dim, nbits, starts.data, lens.data,
                               pids.data, docs.data, docs.length, head.data, head.length, next.data, next.length, perToken, invNorms.data,
                               centroids.data, weights.data, e.data))
    rangeError(info, "Expected codes below " + std::to_string(head.length) + " and probe slots below " + std::to_string(next.length) + " in probedPairScores");
  return info.Env().Undefined();
}

// ---- end of code scoring ----

// ---- Exact MaxSim on the stored ternary codes (ternary-code-scoring.cc, issue 22) ----
// buildTernaryCodeLut(q, qLen, dim, weights, lut, scales)
Napi::Value BuildTernaryCodeLut(const Info& info) {
  auto q = array<float>(info, 0, "q");
  size_t qLen = count(info, 1, "qLen");
  size_t dim = positive(info, 2, "dim");
  auto weights = array<float>(info, 3, "weights");
  auto lut = array<int16_t>(info, 4, "lut");
  auto scales = array<float>(info, 5, "scales");
  const size_t lanes = plait::codeLutLanes(qLen);
  need(info, "q", q.length, qLen * dim);
  need(info, "weights", weights.length, 3);
  need(info, "lut", lut.length, plait::ternaryBytes(dim) * 256 * lanes);
  need(info, "scales", scales.length, lanes);
  plait::buildTernaryCodeLut(q.data, qLen, dim, weights.data, lut.data, scales.data);
  return info.Env().Undefined();
}

// maxsimTernaryCodes(centroidScores, qLen, lut, scales, codes, residuals, dim, tokenStarts, doclens, nDocs, out,
//                    qWeights?, invNorms?, centroids?, weights?)
Napi::Value MaxsimTernaryCodes(const Info& info) {
  auto scores = array<float>(info, 0, "centroidScores");
  size_t qLen = count(info, 1, "qLen");
  auto lut = array<int16_t>(info, 2, "lut");
  auto scales = array<float>(info, 3, "scales");
  auto codes = array<int32_t>(info, 4, "codes");
  auto residuals = array<uint8_t>(info, 5, "residuals");
  size_t dim = positive(info, 6, "dim");
  auto starts = array<int32_t>(info, 7, "tokenStarts");
  auto lens = array<int32_t>(info, 8, "doclens");
  size_t nDocs = count(info, 9, "nDocs");
  auto out = array<float>(info, 10, "out");
  auto w = optionalArray<float>(info, 11, "qWeights");
  auto invNorms = optionalArray<float>(info, 12, "invNorms");
  auto centroids = optionalArray<float>(info, 13, "centroids");
  auto weights = optionalArray<float>(info, 14, "weights");
  const size_t nBytes = plait::ternaryBytes(dim);
  const size_t lanes = plait::codeLutLanes(qLen);
  const size_t k = qLen == 0 ? 0 : scores.length / qLen;
  need(info, "lut", lut.length, nBytes * 256 * lanes);
  need(info, "scales", scales.length, lanes);
  checkSpans(info, "tokenStarts", starts, lens, nDocs, std::min(codes.length, residuals.length / nBytes));
  need(info, "out", out.length, nDocs);
  if (w.data != nullptr) need(info, "qWeights", w.length, qLen);
  for (size_t d = 0; d < nDocs; ++d)
    checkCodes(info, codes.data, static_cast<size_t>(starts.data[d]),
               static_cast<size_t>(starts.data[d]) + static_cast<size_t>(lens.data[d]), k);
  if (invNorms.data != nullptr) {
    need(info, "invNorms", invNorms.length, codes.length);
    if (centroids.data == nullptr || weights.data == nullptr)
      rangeError(info, "Expected centroids and weights with invNorms");
    need(info, "centroids", centroids.length, k * dim);
    need(info, "weights", weights.length, 3);
  }
  plait::maxsimTernaryCodes(scores.data, qLen, lut.data, scales.data, codes.data, residuals.data, dim, starts.data,
                            lens.data, nDocs, out.data, w.data, invNorms.data, centroids.data, weights.data);
  return info.Env().Undefined();
}

void exportTernaryCodeScoring(Napi::Env env, Napi::Object exports) {
  exports.Set("buildTernaryCodeLut", Napi::Function::New(env, BuildTernaryCodeLut, "buildTernaryCodeLut"));
  exports.Set("maxsimTernaryCodes", Napi::Function::New(env, MaxsimTernaryCodes, "maxsimTernaryCodes"));
}
// ---- end of ternary code scoring ----

Napi::Value SimdName(const Info& info) { return Napi::String::New(info.Env(), plait::simdName(plait::activeSimd())); }

Napi::Value CpuFeaturesValue(const Info& info) {
  const plait::CpuFeatures f = plait::cpuFeatures();
  Napi::Object o = Napi::Object::New(info.Env());
  o.Set("avx2", f.avx2);
  o.Set("fma", f.fma);
  o.Set("avx512f", f.avx512f);
  o.Set("avx512bw", f.avx512bw);
  o.Set("avx512vl", f.avx512vl);
  o.Set("avx512vbmi", f.avx512vbmi);
  o.Set("avx512vnni", f.avx512vnni);
  o.Set("avxvnni", f.avxvnni);
  return o;
}

// peakFlops(seconds) -> { flopsPerSecond, simd }: the measured single-core FMA peak (benchmarks only).
Napi::Value PeakFlopsValue(const Info& info) {
  const double seconds = info.Length() > 0 && info[0].IsNumber() ? info[0].As<Napi::Number>().DoubleValue() : 0.5;
  const plait::PeakFlops p = plait::measurePeakFlops(seconds > 0 && seconds <= 10 ? seconds : 0.5);
  Napi::Object o = Napi::Object::New(info.Env());
  o.Set("flopsPerSecond", p.flopsPerSecond);
  o.Set("simd", p.simd);
  return o;
}

Napi::Object Init(Napi::Env env, Napi::Object exports) {
  exports.Set("matmulTransB", Napi::Function::New(env, MatmulTransB, "matmulTransB"));
  exports.Set("assignNearest", Napi::Function::New(env, AssignNearest, "assignNearest"));
  exports.Set("assignNearestRows", Napi::Function::New(env, AssignNearestRows, "assignNearestRows"));
  exports.Set("maxsim", Napi::Function::New(env, Maxsim, "maxsim"));
  exports.Set("compress", Napi::Function::New(env, Compress, "compress"));
  exports.Set("decompress", Napi::Function::New(env, Decompress, "decompress"));
  exports.Set("maxsimCompressed", Napi::Function::New(env, MaxsimCompressed, "maxsimCompressed"));
  exports.Set("centroidInteraction", Napi::Function::New(env, CentroidInteraction, "centroidInteraction"));
  exports.Set("topK", Napi::Function::New(env, TopK, "topK"));
  exports.Set("probeCentroids", Napi::Function::New(env, ProbeCentroids, "probeCentroids"));
  exports.Set("centroidScoresInt8", Napi::Function::New(env, CentroidScoresInt8, "centroidScoresInt8"));
  exports.Set("keepWithinMargin", Napi::Function::New(env, KeepWithinMargin, "keepWithinMargin"));
  exports.Set("ivfInteraction", Napi::Function::New(env, IvfInteraction, "ivfInteraction"));
  exports.Set("probedPairs", Napi::Function::New(env, ProbedPairs, "probedPairs"));
  exports.Set("centroidEstimateWalk", Napi::Function::New(env, CentroidEstimateWalk, "centroidEstimateWalk"));
  exports.Set("probedPairScores", Napi::Function::New(env, ProbedPairScores, "probedPairScores"));
  exports.Set("intDotPath", Napi::Function::New(env, IntDotPathValue, "intDotPath"));
  exports.Set("fastScanPath", Napi::Function::New(env, FastScanPathValue, "fastScanPath"));
  exports.Set("buildCodeLut", Napi::Function::New(env, BuildCodeLut, "buildCodeLut"));
  exports.Set("maxsimCodes", Napi::Function::New(env, MaxsimCodes, "maxsimCodes"));
  exports.Set("buildFastScanTables", Napi::Function::New(env, BuildFastScanTables, "buildFastScanTables"));
  exports.Set("maxsimFastScan", Napi::Function::New(env, MaxsimFastScan, "maxsimFastScan"));
  exports.Set("fastScanTokenSimilarities",
              Napi::Function::New(env, FastScanTokenSimilarities, "fastScanTokenSimilarities"));
  exports.Set("simd", Napi::Function::New(env, SimdName, "simd"));
  exports.Set("cpuFeatures", Napi::Function::New(env, CpuFeaturesValue, "cpuFeatures"));
  exports.Set("mapFile", Napi::Function::New(env, plait::MapFile, "mapFile"));
  exports.Set("lockFile", Napi::Function::New(env, plait::LockFile, "lockFile"));
  exports.Set("unlockFile", Napi::Function::New(env, plait::UnlockFile, "unlockFile"));
  exports.Set("exchangePaths", Napi::Function::New(env, plait::ExchangePaths, "exchangePaths"));
  exports.Set("peakFlops", Napi::Function::New(env, PeakFlopsValue, "peakFlops"));
  exports.Set("compressTernary", Napi::Function::New(env, CompressTernary, "compressTernary"));
  exports.Set("decompressTernary", Napi::Function::New(env, DecompressTernary, "decompressTernary"));
  exports.Set("maxsimCompressedTernary", Napi::Function::New(env, MaxsimCompressedTernary, "maxsimCompressedTernary"));
  exportTernaryCodeScoring(env, exports);
  return exports;
}

}  // namespace

NODE_API_MODULE(plait_kernels, Init)
