// assignscope_class_totals DUMP...: the per-prior class total of dynamic
// soft label (cost::soft_class_background_total) over every prior of every
// image, on each vector path this CPU has, in nanoseconds per term (one
// class of one prior). The logits are the dumps' own.
#include <chrono>
#include <cstdint>
#include <cstdio>
#include <exception>
#include <string>
#include <vector>

#include "core/problem.h"
#include "cost/class_totals.h"
#include "io/dump.h"

using namespace assignscope;

namespace {

int run(int argc, char** argv) {
  std::vector<std::string> paths(argv + 1, argv + argc);
  if (paths.empty()) {
    std::fprintf(stderr, "usage: assignscope_class_totals DUMP...\n");
    return 2;
  }
  auto dump = io::load_dumps(paths);
  if (!dump.ok()) {
    std::fprintf(stderr, "assignscope_class_totals: error: %s\n", dump.status().message().c_str());
    return 2;
  }
  int64_t terms_per_pass = 0;
  for (const Problem& p : dump->batch.images) terms_per_pass += p.num_priors() * p.num_classes();
  if (terms_per_pass == 0) return 2;
  std::printf("chosen path: %s\n", cost::vector_path_name(cost::class_total_path()));
  for (cost::VectorPath path : {cost::VectorPath::kBaseline, cost::VectorPath::kAvx2}) {
    if (!cost::vector_path_available(path)) continue;
    double best = 1e300, checksum = 0;
    for (int trial = 0; trial < 7; ++trial) {  // the fastest of 7 passes: a shared machine's noise is one-sided
      const auto start = std::chrono::steady_clock::now();
      double sum = 0;
      for (const Problem& p : dump->batch.images)
        for (int64_t i = 0; i < p.num_priors(); ++i)
          sum += cost::soft_class_background_total_on(path, &p.cls_scores(i, 0), p.num_classes());
      const std::chrono::duration<double, std::nano> ns = std::chrono::steady_clock::now() - start;
      if (ns.count() < best) best = ns.count();
      checksum = sum;
    }
    std::printf("%-8s %.3f ns/term  (%lld terms, %.3f ms a pass, checksum %.17g)\n", cost::vector_path_name(path),
                best / static_cast<double>(terms_per_pass), static_cast<long long>(terms_per_pass), best * 1e-6,
                checksum);
  }
  return 0;
}

}  // namespace

int main(int argc, char** argv) {
  try {
    return run(argc, argv);
  } catch (const std::exception& e) {
    std::fprintf(stderr, "assignscope_class_totals: error: %s\n", e.what());
    return 2;
  }
}
