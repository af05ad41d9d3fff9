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
using assignscope::io::list_zip;
using assignscope::io::MemoryBudget;
using assignscope::io::NpyArray;
using assignscope::io::parse_npy;
using assignscope::io::read_zip;
using assignscope::io::read_zip_member;
using assignscope::io::ZipEntry;
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
               const MemoryBudget& budget = {}) {
  CAPTURE(name);
  assignscope::testing::check_error(read_zip(fixture_bytes("bad/" + name), name, budget).status(), kind, name + ":",
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

TEST_CASE("zip: an archive without members") { CHECK(read_ok("savez_empty.npz").empty()); }

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

TEST_CASE("zip: the memory budget is enforced from the declared sizes") {
  // Members: priors.npy 160 bytes, gt_labels.npy 152, meta.npy 276.
  auto result = read_zip(fixture_bytes("savez_deflate.npz"), "dump.npz", MemoryBudget{150, "test"});
  REQUIRE_FALSE(result.ok());
  CHECK(result.status().kind() == ErrorKind::kInvalidInput);
  CHECK(result.status().message() ==
        "dump.npz:priors.npy: member declares 160 bytes, more than the 150 bytes of memory available (test); "
        "refused before inflating it");

  result = read_zip(fixture_bytes("savez_stored.npz"), "dump.npz", MemoryBudget{400, "test"});
  REQUIRE_FALSE(result.ok());
  CHECK(result.status().kind() == ErrorKind::kInvalidInput);
  CHECK(result.status().message() ==
        "dump.npz: the members up to 'meta.npy' declare 588 bytes, more than the 400 bytes of memory available "
        "(test); refused before inflating them");

  CHECK(read_zip(fixture_bytes("savez_stored.npz"), "dump.npz", MemoryBudget{588, "test"}).ok());  // just enough
}

TEST_CASE("zip: listing reads no member data, and a member's first bytes can be read alone") {
  const std::vector<unsigned char> bytes = fixture_bytes("savez_deflate.npz");
  auto entries = list_zip(bytes, "dump.npz");
  REQUIRE_MESSAGE(entries.ok(), entries.status().message());
  REQUIRE(entries->size() == 3);
  const ZipEntry& priors = (*entries)[0];
  CHECK(priors.name == "priors.npy");
  CHECK(priors.method == 8);
  CHECK(priors.uncompressed_size == 160);
  auto whole = read_zip_member(bytes, priors, "dump.npz");
  REQUIRE(whole.ok());
  CHECK(whole->size() == 160);
  for (const uint64_t n : {0, 1, 10, 128, 159}) {
    CAPTURE(n);
    auto head = read_zip_member(bytes, priors, "dump.npz", n);
    REQUIRE_MESSAGE(head.ok(), head.status().message());
    CHECK(*head == std::vector<unsigned char>(whole->begin(), whole->begin() + static_cast<std::ptrdiff_t>(n)));
  }
  // A stored member the same way.
  const std::vector<unsigned char> stored = fixture_bytes("savez_stored.npz");
  auto stored_entries = list_zip(stored, "stored.npz");
  REQUIRE(stored_entries.ok());
  auto head = read_zip_member(stored, (*stored_entries)[0], "stored.npz", 10);
  REQUIRE(head.ok());
  CHECK(*head == std::vector<unsigned char>(whole->begin(), whole->begin() + 10));
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
  check_bad("huge_member.npz", ErrorKind::kCorrupt,
            {"huge_member.npz:huge.npy: member declares 1099511627776 uncompressed bytes from 76 compressed bytes",
             "deflate cannot expand more than 1032 to 1"});
}

TEST_CASE("zip: a declared size deflate could reach costs no memory until the data produces it") {
  // huge_member.npz declares 1 TiB from 76 compressed bytes. Cut the claim
  // (the central directory's zip64 field at offset 192) to the most 76 bytes
  // can inflate to: the listing accepts it, and the data, which ends after
  // 152 bytes, is refused with memory grown only as far as those.
  std::vector<unsigned char> bytes = fixture_bytes("bad/huge_member.npz");
  const uint64_t most = 76 * assignscope::io::kMaxDeflateRatio;
  for (int i = 0; i < 8; ++i) bytes[192 + i] = static_cast<unsigned char>(most >> (8 * i));
  auto listed = list_zip(bytes, "huge.npz");
  REQUIRE_MESSAGE(listed.ok(), listed.status().message());
  CHECK((*listed)[0].uncompressed_size == most);
  assignscope::testing::check_error(read_zip(bytes, "huge.npz").status(), ErrorKind::kCorrupt, "huge.npz:huge.npy",
                                    {"inflates to 152 bytes but the central directory declares 78432"});
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
