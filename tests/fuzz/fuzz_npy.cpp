// libFuzzer target: one .npy file, as read from a dump directory; when it
// parses, every element is read back and the array is validated as priors,
// class scores and GT labels of a one-image dump.
#include <cstddef>
#include <cstdint>

#include "fuzz_support.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  using namespace assignscope;
  auto array = io::parse_npy(data, size, "fuzz.npy");
  fuzz::check_error(array.status());
  if (!array.ok()) return 0;
  fuzz::check_array(*array);
  for (const char* field : {"priors", "cls_scores", "gt_labels"}) {
    io::RawDump raw;
    raw.origin = "fuzz";
    raw.fields[field] = io::RawField{*array, "fuzz.npy"};
    fuzz::check_build(std::move(raw));
  }
  return 0;
}
