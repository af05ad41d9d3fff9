// What every fuzz target asserts about a reader's answer: an error is one
// non-empty line of a user-facing kind (never kInternal, which would be a
// bug); a loaded dump is internally consistent. A broken promise aborts, and
// libFuzzer reports the input as a crash.
#pragma once

#include <cstdio>
#include <cstdlib>
#include <string>

#include "core/problem.h"
#include "core/status.h"
#include "io/dump.h"
#include "io/npy.h"

namespace assignscope::fuzz {

// The targets model a machine with 256 MiB to spare: sizes past it must be
// refused, and tools/fuzz.sh fails any single allocation over twice that
// (-malloc_limit_mb=512), so a reader that allocates what an input merely
// claims is caught.
inline io::LoadOptions options() {
  io::LoadOptions o;
  o.memory_limit = uint64_t{256} << 20;
  return o;
}

[[noreturn]] inline void fail(const char* what, const std::string& detail) {
  std::fprintf(stderr, "fuzz invariant broken: %s: %s\n", what, detail.c_str());
  std::abort();
}

inline void check_error(const Status& status) {
  if (status.ok()) return;
  const std::string& message = status.message();
  if (message.empty()) fail("empty error message", "");
  if (message.find('\n') != std::string::npos) fail("error message of several lines", message);
  if (status.kind() == ErrorKind::kInternal) fail("internal error", message);
}

// Reads every element through the accessors (they must stay inside the data).
inline void check_array(const io::NpyArray& a) {
  const int64_t n = a.size();
  if (n < 0) fail("negative size", io::shape_string(a.shape));
  if (a.data.size() != static_cast<size_t>(n) * static_cast<size_t>(a.dtype.itemsize))
    fail("data size disagrees with the shape", io::shape_string(a.shape) + " " + a.dtype.descr());
  volatile double sink = 0;
  for (int64_t i = 0; i < n; ++i) sink = sink + a.to_double(i) + static_cast<double>(a.to_int64(i) & 1);
  (void)a.to_text();
  (void)a.dtype.descr();
}

inline void check_image(const Problem& p) {
  const int64_t n = p.num_priors();
  if (n < 0) fail("negative N", p.name);
  if (p.has(Field::kPriors) && p.priors.rows() != n) fail("priors rows != N", p.name);
  if (p.has(Field::kClsScores) && p.cls_scores.rows() != n) fail("cls_scores rows != N", p.name);
  if (p.has(Field::kPredBboxes) && p.pred_bboxes.rows() != n) fail("pred_bboxes rows != N", p.name);
  if (static_cast<int64_t>(p.prior_level.size()) != n) fail("prior_level size != N", p.name);
  int64_t sum = 0;
  for (const int64_t c : p.num_level_priors) sum += c;
  if (sum != n) fail("num_level_priors does not sum to N", p.name);
  if (static_cast<int64_t>(p.gt_labels.size()) != p.num_gts()) fail("gt_labels size != G", p.name);
  const int64_t classes = p.num_classes();
  for (const int64_t label : p.gt_labels)
    if (label < 0 || (classes > 0 && label >= classes)) fail("label outside [0, C)", p.name);
}

// Validates raw fields as the CLI does, then checks what came out.
inline void check_build(Result<io::RawDump> raw) {
  check_error(raw.status());
  if (!raw.ok()) return;
  auto loaded = io::build_batch(std::move(raw).value(), options());
  check_error(loaded.status());
  if (!loaded.ok()) return;
  for (const Problem& p : loaded->batch.images) check_image(p);
}

}  // namespace assignscope::fuzz
