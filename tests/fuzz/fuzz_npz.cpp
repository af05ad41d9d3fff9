// libFuzzer target: an .npz dump through the path `assignscope run dump.npz`
// takes: zip archive, .npy members, meta, validation into a Batch.
#include <cstddef>
#include <cstdint>
#include <vector>

#include "fuzz_support.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  using namespace assignscope;
  fuzz::check_build(io::parse_npz(std::vector<unsigned char>(data, data + size), "fuzz.npz", fuzz::options()));
  return 0;
}
