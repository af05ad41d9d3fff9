// libFuzzer target: a .json dump through the path `assignscope run dump.json`
// takes: JSON text, fields as nested lists, meta, validation into a Batch.
#include <cstddef>
#include <cstdint>
#include <string>

#include "fuzz_support.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  using namespace assignscope;
  const std::string text(reinterpret_cast<const char*>(data), size);
  fuzz::check_build(io::parse_json_dump(text, "fuzz.json", fuzz::options()));
  return 0;
}
