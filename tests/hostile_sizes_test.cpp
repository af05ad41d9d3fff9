// Hostile sizes: inputs that claim far more than they hold (a terabyte .npy
// header, a shape whose size overflows, a zip member declaring a terabyte, a
// deflate bomb, a JSON text too large to parse, a batch of 2^40 empty images)
// are refused with one line naming the file, the field and what was expected,
// before anything of the claimed size is allocated. Each case runs under an
// address-space cap of a few hundred MiB (except under AddressSanitizer, which
// maps terabytes of shadow memory), so an allocation of the claimed size would
// fail and the test would see "out of memory" instead of the refusal.
#include <doctest/doctest.h>

#include <fcntl.h>
#include <sys/resource.h>
#include <unistd.h>

#include <cstdint>
#include <cstdio>
#include <cstring>
#include <fstream>
#include <string>
#include <vector>

#include <zlib.h>

#include "io/dump.h"
#include "io/memory.h"
#include "io/npy.h"
#include "io/zip.h"
#include "test_support.h"
#include "zip_writer.h"

#if defined(__SANITIZE_ADDRESS__)
#define ASSIGNSCOPE_TEST_ASAN 1
#elif defined(__has_feature)
#if __has_feature(address_sanitizer)
#define ASSIGNSCOPE_TEST_ASAN 1
#endif
#endif

namespace assignscope {
namespace {

using testing::append;
using testing::deflate_bomb;
using testing::kGiB;
using testing::kMiB;
using testing::Member;
using testing::npy_header;
using testing::write_bytes;
using testing::zip_archive;

// Caps the address space at what the process maps now plus `headroom` for
// the life of the object (restored after).
class AddressSpaceCap {
 public:
  explicit AddressSpaceCap(uint64_t headroom) {
#ifndef ASSIGNSCOPE_TEST_ASAN
    if (getrlimit(RLIMIT_AS, &old_) != 0) return;
    std::ifstream status("/proc/self/status");
    std::string line;
    uint64_t mapped_kib = 0;
    while (std::getline(status, line))
      if (line.rfind("VmSize:", 0) == 0) mapped_kib = std::stoull(line.substr(7));
    rlimit capped = old_;
    capped.rlim_cur = static_cast<rlim_t>(mapped_kib * 1024 + headroom);
    active_ = setrlimit(RLIMIT_AS, &capped) == 0;
#else
    (void)headroom;
#endif
  }
  ~AddressSpaceCap() {
    if (active_) setrlimit(RLIMIT_AS, &old_);
  }
  AddressSpaceCap(const AddressSpaceCap&) = delete;
  AddressSpaceCap& operator=(const AddressSpaceCap&) = delete;

 private:
  rlimit old_{};
  bool active_ = false;
};

// A bomb member: the .npy header of `shape` <f4 (whose data is `zeros`
// bytes), then that many zeros, declared as `declared_size`.
Member bomb_member(const std::string& name, const std::string& shape, uint64_t zeros, uint64_t declared_size) {
  Member m;
  m.name = name;
  const std::vector<unsigned char> head = npy_header("<f4", shape);
  m.data = deflate_bomb(head, zeros, &m.crc);
  m.declared_size = declared_size;
  return m;
}

Status load(const std::string& path, uint64_t memory_limit = 0) {
  io::LoadOptions options;
  options.memory_limit = memory_limit;
  return io::load_dump(path, options).status();
}

}  // namespace

TEST_CASE("hostile sizes: an .npy header claiming a terabyte over a tiny body") {
  testing::TempDir tmp;
  std::filesystem::create_directories(tmp.path("d"));
  std::vector<unsigned char> bytes = npy_header("<f4", "(274877906944,)");  // 2^38 floats: 1 TiB
  bytes.resize(bytes.size() + 12);
  write_bytes(tmp.path("d/priors.npy"), bytes);
  const AddressSpaceCap cap(256 * kMiB);
  testing::check_error(load(tmp.path("d")), ErrorKind::kCorrupt, tmp.path("d/priors.npy"),
                       {"truncated: expected 1099511627776 data bytes for shape (274877906944,) <f4, found 12"});
}

TEST_CASE("hostile sizes: an .npy claiming a terabyte and holding it, as a sparse file") {
  testing::TempDir tmp;
  std::filesystem::create_directories(tmp.path("d"));
  const std::vector<unsigned char> header = npy_header("<f4", "(274877906944,)");
  const std::string path = tmp.path("d/cls_scores.npy");
  write_bytes(path, header);
  const uint64_t size = header.size() + (uint64_t{1} << 40);
  if (truncate(path.c_str(), static_cast<off_t>(size)) != 0) {
    MESSAGE("the file system refuses a sparse 1 TiB file; case skipped");
    return;
  }
  const AddressSpaceCap cap(256 * kMiB);
  // The budget here is the room the cap leaves (or MemAvailable under ASan).
  testing::check_error(load(tmp.path("d")), ErrorKind::kInvalidInput, path,
                       {"shape (274877906944,) <f4 needs 1099511627904 bytes (1.0 TiB)", "of memory available (",
                        "refused before reading the data"});
  testing::check_error(load(tmp.path("d"), 64 * kMiB), ErrorKind::kInvalidInput, path,
                       {"needs 1099511627904 bytes (1.0 TiB), more than the 64.0 MiB of memory available "
                        "(the memory limit given)"});
}

TEST_CASE("hostile sizes: shapes whose element or byte count overflows 64 bits") {
  testing::TempDir tmp;
  std::filesystem::create_directories(tmp.path("d"));
  write_bytes(tmp.path("d/priors.npy"), npy_header("<f4", "(4294967296, 4294967296, 4)"));
  const AddressSpaceCap cap(256 * kMiB);
  testing::check_error(load(tmp.path("d")), ErrorKind::kCorrupt, tmp.path("d/priors.npy"),
                       {"shape (4294967296, 4294967296, 4) <f4 is too large", "element count overflows 64 bits"});
  write_bytes(tmp.path("d/priors.npy"), npy_header("<f8", "(1152921504606846976, 4)"));  // 2^60 x 4 x 8 bytes
  testing::check_error(load(tmp.path("d")), ErrorKind::kCorrupt, tmp.path("d/priors.npy"),
                       {"shape (1152921504606846976, 4) <f8 is too large", "byte count overflows 64 bits"});
  // A zero dimension does not hide an overflow among the others.
  write_bytes(tmp.path("d/priors.npy"), npy_header("<f4", "(0, 4294967296, 4294967296, 4)"));
  testing::check_error(load(tmp.path("d")), ErrorKind::kCorrupt, tmp.path("d/priors.npy"),
                       {"element count overflows 64 bits"});
}

TEST_CASE("hostile sizes: a zip member whose central directory claims a terabyte") {
  testing::TempDir tmp;
  // 60 compressed bytes declaring 1 TiB: more than deflate can produce.
  Member liar = bomb_member("priors.npy", "(2, 4)", 0, uint64_t{1} << 40);
  liar.data.resize(60);
  write_bytes(tmp.path("liar.npz"), zip_archive({liar}));
  const AddressSpaceCap cap(256 * kMiB);
  testing::check_error(load(tmp.path("liar.npz")), ErrorKind::kCorrupt, tmp.path("liar.npz") + ":priors.npy",
                       {"member declares 1099511627776 uncompressed bytes from 60 compressed bytes",
                        "deflate cannot expand more than 1032 to 1"});

  // A stored member claiming a terabyte has to hold it: the archive is too short.
  Member stored;
  stored.name = "priors.npy";
  stored.method = 0;
  stored.data = npy_header("<f4", "(2, 4)");
  stored.declared_size = uint64_t{1} << 40;
  write_bytes(tmp.path("stored.npz"), zip_archive({stored}));
  testing::check_error(load(tmp.path("stored.npz")), ErrorKind::kCorrupt, tmp.path("stored.npz") + ":priors.npy",
                       {"stored member has compressed size", "but uncompressed size 1099511627776"});
}

TEST_CASE("hostile sizes: a deflate bomb of 4 GiB of zeros in a 4 MiB archive") {
  testing::TempDir tmp;
  const uint64_t zeros = 4 * kGiB;  // (2^30,) float32
  const Member bomb = bomb_member("cls_scores.npy", "(1073741824,)", zeros, 0);
  const uint64_t honest = npy_header("<f4", "(1073741824,)").size() + zeros;
  CHECK(bomb.data.size() < 8 * kMiB);
  const AddressSpaceCap cap(512 * kMiB);

  SUBCASE("declared honestly, over the memory budget: refused from the declared size, nothing inflated") {
    Member m = bomb;
    m.declared_size = honest;
    write_bytes(tmp.path("bomb.npz"), zip_archive({m}));
    testing::check_error(load(tmp.path("bomb.npz"), 1 * kGiB), ErrorKind::kInvalidInput,
                         tmp.path("bomb.npz") + ":cls_scores.npy",
                         {"member declares 4294967424 bytes (4.0 GiB), more than the", "of memory available",
                          "refused before inflating it"});
  }
  // The next two are within a generous memory limit, so only the cap stands
  // between the reader and an allocation of the declared size.
  SUBCASE("declared as 4 GiB in the directory, its .npy header saying 16 floats: refused after the header") {
    Member m = bomb_member("cls_scores.npy", "(16,)", zeros, honest);
    write_bytes(tmp.path("bomb.npz"), zip_archive({m}));
    testing::check_error(load(tmp.path("bomb.npz"), 64 * kGiB), ErrorKind::kCorrupt,
                         tmp.path("bomb.npz") + ":cls_scores.npy",
                         {"the .npy header declares shape (16,) <f4, 192 bytes with the header, but the archive "
                          "declares 4294967424 bytes for the member; refused before inflating it"});
  }
  SUBCASE("its header declaring 4 GiB, the directory 1 MiB: refused after the header") {
    Member m = bomb;
    m.declared_size = kMiB;
    write_bytes(tmp.path("bomb.npz"), zip_archive({m}));
    testing::check_error(load(tmp.path("bomb.npz"), 64 * kGiB), ErrorKind::kCorrupt,
                         tmp.path("bomb.npz") + ":cls_scores.npy",
                         {"the .npy header declares shape (1073741824,) <f4, 4294967424 bytes with the header",
                          "the archive declares 1048576 bytes"});
  }
  SUBCASE("header and directory both saying 16 floats, the data inflating on: stopped one byte past them") {
    const std::vector<unsigned char> head = npy_header("<f4", "(16,)");
    Member m;
    m.name = "cls_scores.npy";
    m.data = deflate_bomb(head, zeros, &m.crc);
    m.declared_size = head.size() + 64;
    write_bytes(tmp.path("bomb.npz"), zip_archive({m}));
    testing::check_error(load(tmp.path("bomb.npz")), ErrorKind::kCorrupt, tmp.path("bomb.npz") + ":cls_scores.npy",
                         {"deflate data inflates to more than the 192 bytes the central directory declares"});
  }
}

TEST_CASE("hostile sizes: the CLI refuses a deflate bomb under ulimit -v, naming the limit") {
#ifdef ASSIGNSCOPE_TEST_ASAN
  MESSAGE("AddressSanitizer cannot run under ulimit -v; case skipped");
#else
  testing::TempDir tmp;
  const uint64_t zeros = 4 * kGiB;
  Member m = bomb_member("cls_scores.npy", "(1073741824,)", zeros, 0);
  m.declared_size = npy_header("<f4", "(1073741824,)").size() + zeros;
  write_bytes(tmp.path("bomb.npz"), zip_archive({m}));
  const std::string cmd = "ulimit -v 1048576 && '" + std::string(ASSIGNSCOPE_BIN) + "' run '" + tmp.path("bomb.npz") +
                          "' -a atss >'" + tmp.path("out") + "' 2>'" + tmp.path("err") + "'";
  const int status = std::system(cmd.c_str());
  REQUIRE(WIFEXITED(status));
  CHECK(WEXITSTATUS(status) == 2);
  const std::string err = testing::read_text(tmp.path("err"));
  CAPTURE(err);
  CHECK(testing::count_lines(err) == 1);
  CHECK(err.find("bomb.npz:cls_scores.npy: member declares 4294967424 bytes (4.0 GiB), more than the") !=
        std::string::npos);
  // ulimit -v leaves less than MemAvailable on any machine this runs on.
  CHECK(err.find("of memory available (ulimit -v); refused before inflating it") != std::string::npos);
#endif
}

TEST_CASE("hostile sizes: a JSON dump whose nested lists would outgrow memory once parsed") {
  std::string text = "{\"priors\": [";
  while (text.size() < 2 * kMiB) text += "[[[[0]]]], ";
  text += "[[[[0]]]]]}";
  const uint64_t estimate = io::json_parse_bytes(text);
  CHECK(estimate > 20 * text.size());
  io::LoadOptions options;
  options.memory_limit = 16 * kMiB;
  const AddressSpaceCap cap(512 * kMiB);
  const std::string needs = "2.0 MiB of JSON text, parsed, may need " + std::to_string(estimate) + " bytes";
  testing::check_error(io::parse_json_dump(text, "big.json", options).status(), ErrorKind::kInvalidInput, "big.json",
                       {needs.c_str(), "more than the 16.0 MiB of memory available (the memory limit given)",
                        "refused before parsing it"});
  // The same text within the budget parses.
  options.memory_limit = 256 * kMiB;
  auto parsed = io::parse_json_dump(text, "big.json", options);
  REQUIRE_MESSAGE(parsed.ok(), parsed.status().message());
  CHECK(parsed->fields.at("priors").array.shape.size() == 5);
}

TEST_CASE("hostile sizes: a batch of 2^40 images, every field of them empty") {
  testing::TempDir tmp;
  std::filesystem::create_directories(tmp.path("d"));
  write_bytes(tmp.path("d/gt_bboxes.npy"), npy_header("<f4", "(1099511627776, 0, 4)"));
  write_bytes(tmp.path("d/gt_labels.npy"), npy_header("<i8", "(1099511627776, 0)"));
  const AddressSpaceCap cap(256 * kMiB);
  testing::check_error(load(tmp.path("d")), ErrorKind::kInvalidInput, tmp.path("d/gt_bboxes.npy"),
                       {"shape (1099511627776, 0, 4): a batch of B = 1099511627776 images, at 4.0 KiB of records "
                        "an image, needs",
                        "of memory available"});
}

TEST_CASE("hostile sizes: the memory budget names where it comes from") {
  const io::MemoryBudget available = io::available_memory();
  CHECK(available.bytes > 0);
  CHECK_FALSE(available.source.empty());
  const io::MemoryBudget given = io::memory_budget(12345);
  CHECK(given.bytes == 12345);
  CHECK(given.source == "the memory limit given");
  CHECK(io::format_bytes(152) == "152 bytes");
  CHECK(io::format_bytes(1) == "1 byte");
  CHECK(io::format_bytes(uint64_t{1} << 40) == "1.0 TiB");
  CHECK(io::format_bytes(4 * kGiB + 128) == "4.0 GiB");
  CHECK(io::over_budget("x.npy: the file needs", 2048, io::MemoryBudget{1024, "test"}) ==
        "x.npy: the file needs 2048 bytes (2.0 KiB), more than the 1.0 KiB of memory available (test)");
#ifndef ASSIGNSCOPE_TEST_ASAN
  {
    const AddressSpaceCap cap(256 * kMiB);
    const io::MemoryBudget capped = io::available_memory();
    CHECK(capped.source == "ulimit -v");
    CHECK(capped.bytes <= 256 * kMiB);
  }
#endif
}

}  // namespace assignscope
