// Tests of the .npz (zip) reader against numpy-made, zipfile-made and hand-broken archives (tools/make_io_fixtures.py).
#include <doctest/doctest.h>

#include <cstdint>
#include <cstring>
#include <initializer_list>
#include <string>
#include <vector>

#include "io/files.h"
#include "io/npy.h"
#include "io/zip.h"
#include "test_support.h"

namespace {

using assignscope::ErrorKind;
using assignscope::io::NpyArray;
using assignscope::io::parse_npy;
using assignscope::io::read_zip;
using assignscope::io::ZipLimits;
using assignscope::io::ZipMember;

std::vector<unsigned char> fixture_bytes(const std::string& name) {
  return assignscope::testing::source_bytes("testdata/io/" + name);
}

std::vector<ZipMember> read_ok(const std::string& name) {
  auto members = read_zip(fixture_bytes(name), name);
  REQUIRE_MESSAGE(members.ok(), members.status().message());
  return std::move(members).value();
}

NpyArray member_array(const std::string& archive, const ZipMember& member) {
  auto array = parse_npy(member.data.data(), member.data.size(), archive + ":" + member.name);
  REQUIRE_MESSAGE(array.ok(), array.status().message());
  return std::move(array).value();
}

std::vector<std::string> names_of(const std::vector<ZipMember>& members) {
  std::vector<std::string> names;
  for (const ZipMember& m : members) names.push_back(m.name);
  return names;
}

// The arrays tools/make_io_fixtures.py puts in savez_stored.npz / savez_deflate.npz.
void check_savez_members(const std::string& archive, const std::vector<ZipMember>& members) {
  REQUIRE(names_of(members) == std::vector<std::string>{"priors.npy", "gt_labels.npy", "meta.npy"});
  const NpyArray priors = member_array(archive, members[0]);
  CHECK(priors.shape == std::vector<int64_t>{2, 4});
  CHECK(priors.dtype.descr() == "<f4");
  for (int64_t i = 0; i < 8; ++i) CHECK(priors.to_double(i) == static_cast<double>(i));

  const NpyArray labels = member_array(archive, members[1]);
  CHECK(labels.shape == std::vector<int64_t>{3});
  CHECK(labels.to_int64(0) == 3);
  CHECK(labels.to_int64(1) == 0);
  CHECK(labels.to_int64(2) == 7);

  const NpyArray meta = member_array(archive, members[2]);
  CHECK(meta.shape.empty());
  CHECK(meta.dtype.kind == assignscope::io::DTypeKind::kUnicode);
  CHECK(meta.to_text() == "{\"version\": 1, \"source\": \"fixture \xe2\x9c\x93\"}");
}

// The error of reading testdata/io/bad/<name>: kind, and every keyword in its
// one-line message, which starts with the archive's name.
void check_bad(const std::string& name, ErrorKind kind, std::initializer_list<const char*> keywords,
               const ZipLimits& limits = {}) {
  CAPTURE(name);
  assignscope::testing::check_error(read_zip(fixture_bytes("bad/" + name), name, limits).status(), kind, name + ":",
                                    keywords);
}

}  // namespace

TEST_CASE("zip: np.savez archive (stored members, zip64 local headers)") {
  check_savez_members("savez_stored.npz", read_ok("savez_stored.npz"));
}

TEST_CASE("zip: np.savez_compressed archive (deflate members)") {
  const std::vector<ZipMember> deflated = read_ok("savez_deflate.npz");
  check_savez_members("savez_deflate.npz", deflated);
  const std::vector<ZipMember> stored = read_ok("savez_stored.npz");
  for (size_t i = 0; i < stored.size(); ++i) CHECK(deflated[i].data == stored[i].data);
}

TEST_CASE("zip: an archive without members") {
  CHECK(read_ok("savez_empty.npz").empty());
}

TEST_CASE("zip: directory entries are skipped, the comment does not confuse the search") {
  std::vector<unsigned char> bytes = fixture_bytes("zip_dir_comment.npz");
  for (int planted = 0; planted < 2; ++planted) {
    CAPTURE(planted);
    auto members = read_zip(bytes, "zip_dir_comment.npz");
    REQUIRE_MESSAGE(members.ok(), members.status().message());
    REQUIRE(names_of(*members) == std::vector<std::string>{"sub/a.npy"});
    const NpyArray a = member_array("zip_dir_comment.npz", (*members)[0]);
    CHECK(a.shape == std::vector<int64_t>{4});
    for (int64_t i = 0; i < 4; ++i) CHECK(a.to_int64(i) == i);

    // Plant a fake end-of-central-directory signature inside the 300-byte
    // comment; its own comment length does not reach the end of the file.
    const size_t at = bytes.size() - 200;
    const unsigned char fake[] = {'P', 'K', 5, 6, 0, 0, 0, 0, 1, 0, 1, 0, 9, 9, 9, 9, 9, 9, 9, 9, 7, 0};
    std::memcpy(bytes.data() + at, fake, sizeof fake);
  }
}

TEST_CASE("zip: data descriptors (flag bit 3)") {
  const std::vector<ZipMember> members = read_ok("zip_data_descriptor.npz");
  REQUIRE(names_of(members) == std::vector<std::string>{"priors.npy"});
  const NpyArray priors = member_array("zip_data_descriptor.npz", members[0]);
  CHECK(priors.shape == std::vector<int64_t>{2, 4});
  CHECK(priors.to_double(7) == 7.0);
}

TEST_CASE("zip: zip64 end records and zip64 central directory fields") {
  const std::vector<ZipMember> members = read_ok("zip64_records.npz");
  REQUIRE(names_of(members) == std::vector<std::string>{"x.npy", "y.npy"});
  for (const ZipMember& m : members) {
    const NpyArray a = member_array("zip64_records.npz", m);
    CHECK(a.shape == std::vector<int64_t>{3});
    for (int64_t i = 0; i < 3; ++i) CHECK(a.to_double(i) == static_cast<double>(i));
  }
}

TEST_CASE("zip: size limits are enforced from the declared sizes") {
  ZipLimits per_member;
  per_member.max_member_bytes = 200;  // meta.npy is 276 bytes
  auto result = read_zip(fixture_bytes("savez_deflate.npz"), "dump.npz", per_member);
  REQUIRE_FALSE(result.ok());
  CHECK(result.status().kind() == ErrorKind::kInvalidInput);
  CHECK(result.status().message() ==
        "dump.npz:meta.npy: member declares 276 uncompressed bytes, over the limit of 200 bytes per member");

  ZipLimits total;
  total.max_total_bytes = 400;  // 160 + 152 + 276
  result = read_zip(fixture_bytes("savez_stored.npz"), "dump.npz", total);
  REQUIRE_FALSE(result.ok());
  CHECK(result.status().kind() == ErrorKind::kInvalidInput);
  CHECK(result.status().message().find("more than 400 uncompressed bytes in total") != std::string::npos);
  CHECK(result.status().message().find("'meta.npy'") != std::string::npos);

  total.max_total_bytes = 588;  // exactly enough
  CHECK(read_zip(fixture_bytes("savez_stored.npz"), "dump.npz", total).ok());
}

TEST_CASE("zip: broken archives are refused with a one-line message naming the archive") {
  check_bad("not_a_zip.npz", ErrorKind::kCorrupt, {"no end-of-central-directory record", "not a zip archive"});
  check_bad("truncated.npz", ErrorKind::kCorrupt, {"end-of-central-directory", "truncated"});
  check_bad("truncated_tail.npz", ErrorKind::kCorrupt, {"end-of-central-directory", "truncated"});
}

TEST_CASE("zip: corrupt, unsupported and oversized members") {
  check_bad("crc_mismatch.npz", ErrorKind::kCorrupt, {"crc_mismatch.npz:gt_labels.npy: CRC-32 mismatch"});
  check_bad("method_bzip2.npz", ErrorKind::kUnsupported,
            {"method_bzip2.npz:priors.npy:", "compression method 12 (bzip2)", "expected stored (0) or deflate (8)"});
  check_bad("encrypted.npz", ErrorKind::kUnsupported, {"priors.npy", "encrypted"});
  check_bad("multidisk.npz", ErrorKind::kUnsupported, {"multi-disk", "single-file archive"});
  check_bad("bad_local_offset.npz", ErrorKind::kCorrupt, {"priors.npy", "no local header at offset 2147483632"});
  check_bad("cd_out_of_bounds.npz", ErrorKind::kCorrupt, {"central directory", "outside the archive"});
  check_bad("inflate_overrun.npz", ErrorKind::kCorrupt, {"priors.npy", "inflates to more than the 150 bytes"});
  check_bad("inflate_short.npz", ErrorKind::kCorrupt,
            {"priors.npy", "inflates to 160 bytes but the central directory declares 170"});
  check_bad("bad_deflate.npz", ErrorKind::kCorrupt, {"priors.npy", "deflate data is corrupt", "zlib"});
  check_bad("duplicate_names.npz", ErrorKind::kCorrupt, {"duplicate member name 'a.npy'"});
  check_bad("huge_member.npz", ErrorKind::kInvalidInput,
            {"huge_member.npz:huge.npy: member declares 1099511627776 uncompressed bytes", "over the limit"});
}

TEST_CASE("zip: a huge declared size within the limits costs no memory up front") {
  ZipLimits generous;
  generous.max_member_bytes = uint64_t{1} << 41;
  generous.max_total_bytes = uint64_t{1} << 41;
  check_bad("huge_member.npz", ErrorKind::kCorrupt,
            {"huge.npy", "inflates to 152 bytes but the central directory declares 1099511627776"}, generous);
}

TEST_CASE("zip: every prefix and every byte flip is handled without reading out of bounds") {
  CHECK_FALSE(read_zip({}, "empty").ok());
  for (const char* name : {"savez_deflate.npz", "zip64_records.npz", "zip_data_descriptor.npz"}) {
    CAPTURE(name);
    const std::vector<unsigned char> good = fixture_bytes(name);
    for (size_t length = 0; length < good.size(); ++length) {
      const std::vector<unsigned char> prefix(good.begin(), good.begin() + static_cast<std::ptrdiff_t>(length));
      auto result = read_zip(prefix, "prefix");
      CAPTURE(length);
      CHECK_FALSE(result.ok());
    }
    for (size_t at = 0; at < good.size(); ++at) {
      for (const int flip : {0x01, 0x80, 0xff}) {
        std::vector<unsigned char> bytes = good;
        bytes[at] = static_cast<unsigned char>(bytes[at] ^ flip);
        auto result = read_zip(bytes, "flipped");
        if (!result.ok()) CHECK(result.status().message().find('\n') == std::string::npos);
      }
    }
  }
}
