// A dump's containers read into raw fields (io/dump_containers.h): JSON
// parsed from text, an .npz member with a long .npy header.
#include <doctest/doctest.h>

#include <string>
#include <vector>

#include <zlib.h>

#include "io/dump.h"
#include "io/npy.h"
#include "test_support.h"

namespace assignscope {

TEST_CASE("dump: JSON containers, parsed from text") {
  auto raw = io::parse_json_dump(R"({"meta": {"version": 1, "num_classes": 2},
      "priors": [[4, 4, 8, 8], [12, 4, 8, 8]], "gt_bboxes": [], "gt_labels": []})",
                                 "inline.json");
  REQUIRE(raw.ok());
  auto d = io::build_batch(std::move(raw).value(), {});
  REQUIRE_MESSAGE(d.ok(), d.status().message());
  CHECK(d->batch.images[0].num_gts() == 0);
  CHECK(d->batch.images[0].num_classes() == 2);
  CHECK(d->batch.images[0].levels_inferred);

  auto top = io::parse_json_dump("[1, 2]", "list.json");
  CHECK(top.status().message().find("expected an object") != std::string::npos);
  auto nulls = io::parse_json_dump(R"({"priors": [[4, null, 8, 8]]})", "null.json");
  CHECK(nulls.status().message().find("null.json:priors[0, 1]: null") != std::string::npos);
  auto text = io::parse_json_dump(R"({"priors": [["a", 1, 8, 8]]})", "s.json");
  CHECK(text.status().message().find("string where a number was expected") != std::string::npos);
  auto twice = io::parse_json_dump(R"({"pad_gt_mask": [[1]], "pad_bbox_flag": [[1]]})", "t.json");
  CHECK(twice.status().message().find("given twice") != std::string::npos);
}

TEST_CASE("dump: an .npz member whose .npy header is longer than the first bytes inflated") {
  // np.savez of one array with 25000 axes of length 1: a ~75 KB header.
  const std::vector<int64_t> many_axes(25000, 1);
  const int64_t one = 7;
  const std::vector<unsigned char> member = io::npy_bytes(&one, many_axes);
  std::vector<unsigned char> zip;
  const auto put = [&](uint64_t v, int bytes) {
    for (int i = 0; i < bytes; ++i) zip.push_back(static_cast<unsigned char>(v >> (8 * i)));
  };
  const std::string name = "priors.npy";
  const uint32_t crc = static_cast<uint32_t>(crc32(0L, member.data(), static_cast<uInt>(member.size())));
  put(0x04034b50, 4), put(20, 2), put(0, 2), put(0, 2), put(0, 4), put(crc, 4), put(member.size(), 4),
      put(member.size(), 4), put(name.size(), 2), put(0, 2);
  zip.insert(zip.end(), name.begin(), name.end());
  zip.insert(zip.end(), member.begin(), member.end());
  const uint64_t directory = zip.size();
  put(0x02014b50, 4), put(20, 2), put(20, 2), put(0, 2), put(0, 2), put(0, 4), put(crc, 4), put(member.size(), 4),
      put(member.size(), 4), put(name.size(), 2), put(0, 2), put(0, 2), put(0, 2), put(0, 2), put(0, 4), put(0, 4);
  zip.insert(zip.end(), name.begin(), name.end());
  const uint64_t directory_size = zip.size() - directory;
  put(0x06054b50, 4), put(0, 2), put(0, 2), put(1, 2), put(1, 2), put(directory_size, 4), put(directory, 4), put(0, 2);
  auto raw = io::parse_npz(zip, "wide.npz");
  REQUIRE_MESSAGE(raw.ok(), raw.status().message());
  CHECK(raw->fields.at("priors").array.shape == many_axes);
  CHECK(raw->fields.at("priors").array.to_int64(0) == 7);
}

}  // namespace assignscope
