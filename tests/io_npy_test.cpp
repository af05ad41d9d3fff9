// Tests of the .npy reader and writer against numpy-made and hand-broken fixtures (tools/make_io_fixtures.py).
#include <doctest/doctest.h>

#include <sys/stat.h>

#include <cmath>
#include <cstdint>
#include <cstdlib>
#include <fstream>
#include <cstring>
#include <initializer_list>
#include <limits>
#include <string>
#include <vector>

#include "io/files.h"
#include "io/npy.h"
#include "test_support.h"

namespace {

using assignscope::ErrorKind;
using assignscope::io::DType;
using assignscope::io::DTypeKind;
using assignscope::io::npy_bytes;
using assignscope::io::NpyArray;
using assignscope::io::parse_npy;
using assignscope::io::read_npy_file;
using assignscope::io::shape_string;

constexpr int64_t kInt64Max = std::numeric_limits<int64_t>::max();
constexpr int64_t kInt64Min = std::numeric_limits<int64_t>::min();

std::string fixture(const std::string& name) { return assignscope::testing::source_path("testdata/io/" + name); }

std::vector<unsigned char> fixture_bytes(const std::string& name) {
  return assignscope::testing::source_bytes("testdata/io/" + name);
}

NpyArray load(const std::string& name) {
  auto array = read_npy_file(fixture(name));
  REQUIRE_MESSAGE(array.ok(), array.status().message());
  return std::move(array).value();
}

// Same value, same bits for NaN-free doubles; any NaN matches any NaN.
bool same_double(double a, double b) {
  if (std::isnan(a) || std::isnan(b)) return std::isnan(a) && std::isnan(b);
  return a == b && std::signbit(a) == std::signbit(b);
}

struct DTypeCase {
  const char* code;
  DTypeKind kind;
  int itemsize;
  std::vector<double> doubles;  // to_double of the six stored values
  std::vector<int64_t> ints;    // to_int64 of the six stored values
};

// The six values tools/make_io_fixtures.py stores per dtype (VALUES there).
std::vector<DTypeCase> dtype_cases() {
  const double f4_max = static_cast<double>(std::numeric_limits<float>::max());
  const double f4_tiny = static_cast<double>(std::numeric_limits<float>::denorm_min());
  const double f4_tenth = static_cast<double>(0.1f);
  const double f8_max = std::numeric_limits<double>::max();
  const double f8_tiny = std::numeric_limits<double>::denorm_min();
  return {
      {"f2", DTypeKind::kFloat, 2, {0, 1.5, -2.25, 65504, 0x1p-14, 0x1p-24}, {0, 1, -2, 65504, 0, 0}},
      {"f4", DTypeKind::kFloat, 4, {0, 1.5, -2.25, f4_max, f4_tiny, f4_tenth}, {0, 1, -2, kInt64Max, 0, 0}},
      {"f8", DTypeKind::kFloat, 8, {0, 1.5, -2.25, f8_max, f8_tiny, 0.1}, {0, 1, -2, kInt64Max, 0, 0}},
      {"i1", DTypeKind::kInt, 1, {-128, -1, 0, 1, 42, 127}, {-128, -1, 0, 1, 42, 127}},
      {"i2", DTypeKind::kInt, 2, {-32768, -1, 0, 1, 300, 32767}, {-32768, -1, 0, 1, 300, 32767}},
      {"i4",
       DTypeKind::kInt,
       4,
       {-2147483648.0, -1, 0, 1, 70000, 2147483647.0},
       {-2147483648LL, -1, 0, 1, 70000, 2147483647LL}},
      {"i8",
       DTypeKind::kInt,
       8,
       {-0x1p63, -1, 0, 1, 1099511627779.0, 0x1p63},
       {kInt64Min, -1, 0, 1, 1099511627779LL, kInt64Max}},
      {"u1", DTypeKind::kUInt, 1, {0, 1, 2, 127, 128, 255}, {0, 1, 2, 127, 128, 255}},
      {"u2", DTypeKind::kUInt, 2, {0, 1, 256, 32768, 65534, 65535}, {0, 1, 256, 32768, 65534, 65535}},
      {"u4",
       DTypeKind::kUInt,
       4,
       {0, 1, 65536, 2147483648.0, 4294967294.0, 4294967295.0},
       {0, 1, 65536, 2147483648LL, 4294967294LL, 4294967295LL}},
      // u8 above int64's range: to_int64 saturates.
      {"u8",
       DTypeKind::kUInt,
       8,
       {0, 1, 4294967296.0, 0x1p63, 0x1p64, 0x1p64},
       {0, 1, 4294967296LL, kInt64Max, kInt64Max, kInt64Max}},
      {"b1", DTypeKind::kBool, 1, {1, 0, 0, 1, 1, 0}, {1, 0, 0, 1, 1, 0}},
  };
}

// The error of reading testdata/io/bad/<name>: kind, and every keyword in its
// one-line message, which starts with the file's path.
void check_bad(const std::string& name, ErrorKind kind, std::initializer_list<const char*> keywords) {
  CAPTURE(name);
  const std::string path = fixture("bad/" + name);
  assignscope::testing::check_error(read_npy_file(path).status(), kind, path + ": ", keywords);
}

}  // namespace

TEST_CASE("npy: every contract dtype, little- and big-endian, C order") {
  for (const DTypeCase& c : dtype_cases()) {
    for (const char* order : {"le", "be"}) {
      const std::string name = std::string(c.code) + "_" + order + "_c.npy";
      CAPTURE(name);
      const NpyArray a = load(name);
      CHECK(a.shape == std::vector<int64_t>{2, 3});
      CHECK(a.ndim() == 2);
      CHECK(a.size() == 6);
      CHECK(a.dtype.kind == c.kind);
      CHECK(a.dtype.itemsize == c.itemsize);
      const bool big = std::string(order) == "be" && c.itemsize > 1;
      CHECK(a.dtype.big_endian == big);
      const std::string expected_descr = (c.itemsize == 1 ? "|" : big ? ">" : "<") + std::string(c.code);
      CHECK(a.dtype.descr() == expected_descr);
      REQUIRE(a.data.size() == static_cast<size_t>(6 * c.itemsize));
      for (int64_t i = 0; i < 6; ++i) {
        CAPTURE(i);
        CHECK(same_double(a.to_double(i), c.doubles[static_cast<size_t>(i)]));
        CHECK(a.to_int64(i) == c.ints[static_cast<size_t>(i)]);
      }
    }
  }
}

TEST_CASE("npy: float16 infinities, NaN, signed zero and subnormals") {
  const double inf = std::numeric_limits<double>::infinity();
  const double nan = std::numeric_limits<double>::quiet_NaN();
  const std::vector<double> expected = {inf, -inf, nan, -0.0, 0x1p-20, 0.333251953125, -65504, 3 * 0x1p-24};
  for (const char* name : {"f2_special_le.npy", "f2_special_be.npy"}) {
    CAPTURE(name);
    const NpyArray a = load(name);
    REQUIRE(a.size() == 8);
    for (int64_t i = 0; i < 8; ++i) {
      CAPTURE(i);
      CHECK(same_double(a.to_double(i), expected[static_cast<size_t>(i)]));
    }
    CHECK(a.to_int64(0) == kInt64Max);  // saturating
    CHECK(a.to_int64(1) == kInt64Min);
    CHECK(a.to_int64(2) == 0);  // NaN
    CHECK(a.to_int64(6) == -65504);
  }
}

TEST_CASE("npy: float16 conversion of all 65536 bit patterns") {
  NpyArray a;
  a.dtype = DType{DTypeKind::kFloat, 2, false};
  a.shape = {65536};
  a.data.resize(2 * 65536);
  for (uint32_t bits = 0; bits < 65536; ++bits) {
    a.data[2 * bits] = static_cast<unsigned char>(bits & 0xff);
    a.data[2 * bits + 1] = static_cast<unsigned char>(bits >> 8);
  }
  int mismatches = 0;
  for (uint32_t bits = 0; bits < 65536; ++bits) {
    const double sign = (bits & 0x8000u) != 0 ? -1.0 : 1.0;
    const int exponent = static_cast<int>((bits >> 10) & 0x1f);
    const int mantissa = static_cast<int>(bits & 0x3ff);
    double expected = 0;
    if (exponent == 31) {
      expected =
          mantissa == 0 ? sign * std::numeric_limits<double>::infinity() : std::numeric_limits<double>::quiet_NaN();
    } else if (exponent == 0) {
      expected = sign * std::ldexp(mantissa, -24);
    } else {
      expected = sign * std::ldexp(1024 + mantissa, exponent - 25);
    }
    if (!same_double(a.to_double(bits), expected)) {
      ++mismatches;
      CAPTURE(bits);
      CHECK(a.to_double(bits) == expected);
    }
  }
  CHECK(mismatches == 0);
}

TEST_CASE("npy: Fortran-order arrays come back in C order") {
  struct Case {
    const char* name;
    std::vector<int64_t> shape;
    double scale;
    double offset;
  };
  // Element i of the C-order result is i * scale + offset.
  const std::vector<Case> cases = {
      {"f8_le_f_2d.npy", {2, 3}, 1, 0},  {"f4_be_f_3d.npy", {2, 3, 4}, 1, 0},     {"i2_be_f_3d.npy", {2, 3, 4}, 1, -12},
      {"u1_f_3d.npy", {3, 2, 4}, 10, 0}, {"i8_le_f_4d.npy", {2, 1, 3, 2}, 1, -5}, {"f2_be_f_2d.npy", {3, 2}, 0.5, 0},
      {"i2_be_f_v2.npy", {2, 3}, 1, 0},
  };
  for (const Case& c : cases) {
    CAPTURE(c.name);
    const NpyArray a = load(c.name);
    CHECK(a.shape == c.shape);
    for (int64_t i = 0; i < a.size(); ++i) {
      CAPTURE(i);
      CHECK(a.to_double(i) == static_cast<double>(i) * c.scale + c.offset);
    }
  }
  const NpyArray flags = load("b1_f_2d.npy");
  REQUIRE(flags.size() == 6);
  for (int64_t i = 0; i < 6; ++i) CHECK(flags.to_int64(i) == (i % 3 == 0 ? 1 : 0));

  const NpyArray empty = load("empty_f8_f_0x3.npy");
  CHECK(empty.shape == std::vector<int64_t>{0, 3});
  CHECK(empty.size() == 0);
  CHECK(empty.data.empty());
}

TEST_CASE("npy: format versions 2.0 and 3.0") {
  for (const char* name : {"f4_v2.npy", "f4_v3.npy"}) {
    CAPTURE(name);
    const NpyArray a = load(name);
    CHECK(a.shape == std::vector<int64_t>{5});
    CHECK(a.dtype.descr() == "<f4");
    for (int64_t i = 0; i < 5; ++i) CHECK(a.to_double(i) == static_cast<double>(i));
  }
}

TEST_CASE("npy: 0-d and zero-size arrays") {
  const NpyArray scalar = load("scalar_f8.npy");
  CHECK(scalar.shape.empty());
  CHECK(scalar.ndim() == 0);
  CHECK(scalar.size() == 1);
  CHECK(scalar.to_double(0) == 3.25);

  const NpyArray big_endian = load("scalar_i8_be.npy");
  CHECK(big_endian.shape.empty());
  CHECK(big_endian.dtype.descr() == ">i8");
  CHECK(big_endian.to_int64(0) == -7);

  const NpyArray flag = load("scalar_b1.npy");
  CHECK(flag.dtype.descr() == "|b1");
  CHECK(flag.to_int64(0) == 1);

  struct Empty {
    const char* name;
    std::vector<int64_t> shape;
    const char* descr;
  };
  for (const Empty& e : {Empty{"empty_f4_0x4.npy", {0, 4}, "<f4"}, Empty{"empty_i8_3x0.npy", {3, 0}, "<i8"},
                         Empty{"empty_u1_0.npy", {0}, "|u1"}}) {
    CAPTURE(e.name);
    const NpyArray a = load(e.name);
    CHECK(a.shape == e.shape);
    CHECK(a.size() == 0);
    CHECK(a.data.empty());
    CHECK(a.dtype.descr() == e.descr);
  }
}

TEST_CASE("npy: unicode and bytes text") {
  const NpyArray u = load("text_u.npy");
  CHECK(u.dtype.kind == DTypeKind::kUnicode);
  CHECK(u.dtype.descr() == "<U9");
  CHECK(u.dtype.itemsize == 36);
  CHECK(u.to_text() == "h\xc3\xa9llo \xe2\x9c\x93 \xf0\x9d\x84\x9e");

  const NpyArray padded = load("text_u_padded.npy");
  CHECK(padded.dtype.descr() == "<U6");
  CHECK(padded.to_text() == "ab");

  const NpyArray big_endian = load("text_u_be.npy");
  CHECK(big_endian.dtype.descr() == ">U10");
  CHECK(big_endian.to_text() == "h\xc3\xa9llo \xe2\x9c\x93");

  const NpyArray one = load("text_u_1d.npy");
  CHECK(one.shape == std::vector<int64_t>{1});
  CHECK(one.to_text() == "solo");

  CHECK(load("text_u_empty.npy").to_text().empty());

  const NpyArray bytes = load("text_s.npy");
  CHECK(bytes.dtype.kind == DTypeKind::kBytes);
  CHECK(bytes.dtype.descr() == "|S8");
  CHECK(bytes.to_text() == "hello");

  // Numeric arrays and text arrays of several elements have no text.
  CHECK(load("scalar_f8.npy").to_text().empty());
}

TEST_CASE("npy: hand-written headers numpy also reads") {
  const NpyArray py2 = load("py2_long_shape.npy");  // Python 2 style "(3L, 2L)"
  CHECK(py2.shape == std::vector<int64_t>{3, 2});
  for (int64_t i = 0; i < 6; ++i) CHECK(py2.to_int64(i) == i);

  const NpyArray quoted = load("double_quotes_reordered.npy");  // "..." quotes, keys reordered
  CHECK(quoted.shape == std::vector<int64_t>{2});
  CHECK(quoted.to_double(0) == 1.25);
  CHECK(quoted.to_double(1) == -8.5);

  const NpyArray native = load("native_order_f4.npy");  // '=f4'
  CHECK(native.dtype.descr() == "<f4");
  CHECK(native.shape == std::vector<int64_t>{2, 1});
  CHECK(native.to_double(0) == 7.0);
  CHECK(native.to_double(1) == -1.0);
}

TEST_CASE("npy: shape_string and descr spell things as numpy does") {
  CHECK(shape_string({}) == "()");
  CHECK(shape_string({3}) == "(3,)");
  CHECK(shape_string({2, 4}) == "(2, 4)");
  CHECK(shape_string({0, 1, 5}) == "(0, 1, 5)");
  CHECK(DType{DTypeKind::kFloat, 2, true}.descr() == ">f2");
  CHECK(DType{DTypeKind::kUInt, 1, true}.descr() == "|u1");
  CHECK(DType{DTypeKind::kBool, 1, false}.descr() == "|b1");
  CHECK(DType{DTypeKind::kUnicode, 12, false}.descr() == "<U3");
  CHECK(DType{DTypeKind::kBytes, 7, false}.descr() == "|S7");
}

TEST_CASE("npy: accessors outside the data are harmless") {
  const NpyArray a = load("i4_le_c.npy");
  CHECK(std::isnan(a.to_double(-1)));
  CHECK(std::isnan(a.to_double(6)));
  CHECK(a.to_int64(6) == 0);
  const NpyArray text = load("text_s.npy");
  CHECK(std::isnan(text.to_double(0)));
  CHECK(text.to_int64(0) == 0);
}

TEST_CASE("npy: broken files are refused with a one-line message naming the file") {
  check_bad("truncated_data.npy", ErrorKind::kCorrupt,
            {"truncated: expected 48 data bytes for shape (3, 4) <f4, found 43"});
  check_bad("truncated_header.npy", ErrorKind::kCorrupt, {"truncated header", "declares 118 bytes", "found 30"});
  check_bad("truncated_preamble.npy", ErrorKind::kCorrupt, {"truncated", "7 bytes"});
  check_bad("header_length_past_end.npy", ErrorKind::kCorrupt, {"truncated header", "declares 4294967040"});
  check_bad("bad_magic.npy", ErrorKind::kCorrupt, {"not a .npy file", "expected the magic", "NUMPX"});
  check_bad("text_file.npy", ErrorKind::kCorrupt, {"not a .npy file", "'priors'"});
  check_bad("empty.npy", ErrorKind::kCorrupt, {"not a .npy file", "empty file"});
  check_bad("bad_version.npy", ErrorKind::kUnsupported, {"version 9.0", "expected 1.0, 2.0 or 3.0"});
  check_bad("trailing_bytes.npy", ErrorKind::kCorrupt, {"7 trailing bytes", "expected 48 data bytes"});

  check_bad("header_missing_shape.npy", ErrorKind::kCorrupt, {"malformed header", "no 'shape' key"});
  check_bad("header_garbage.npy", ErrorKind::kCorrupt, {"malformed header", "expected a dict", "'this is"});
  check_bad("header_not_dict.npy", ErrorKind::kCorrupt, {"malformed header", "expected a dict"});
  check_bad("header_unknown_key.npy", ErrorKind::kCorrupt, {"unknown key 'order'", "'descr', 'fortran_order'"});
  check_bad("header_duplicate_key.npy", ErrorKind::kCorrupt, {"duplicate key 'shape'"});
  check_bad("header_negative_dim.npy", ErrorKind::kCorrupt, {"dimension -1 is negative"});
  check_bad("header_float_dim.npy", ErrorKind::kCorrupt, {"dimension 3.0 is not an integer"});
  check_bad("header_shape_list.npy", ErrorKind::kCorrupt, {"'shape' is [3]", "expected a tuple"});
  check_bad("header_fortran_not_bool.npy", ErrorKind::kCorrupt, {"'fortran_order' is 0", "True or False"});
  check_bad("header_unterminated.npy", ErrorKind::kCorrupt, {"malformed header", "end of the header"});
  check_bad("header_unterminated_string.npy", ErrorKind::kCorrupt, {"malformed header", "expected ','"});
  check_bad("header_huge_dim.npy", ErrorKind::kCorrupt, {"99999999999999999999999", "does not fit in 64 bits"});
  check_bad("header_deep_nesting.npy", ErrorKind::kCorrupt, {"nesting deeper than 32"});
  check_bad("pipe_f4.npy", ErrorKind::kCorrupt, {"'|f4'", "byte order '|'", "expected '<f4' or '>f4'"});

  check_bad("overflow_shape.npy", ErrorKind::kCorrupt,
            {"(1099511627776, 1099511627776) <f4", "too large", "element count overflows"});
  check_bad("overflow_bytes.npy", ErrorKind::kCorrupt, {"too large", "byte count overflows"});
  check_bad("terabyte.npy", ErrorKind::kCorrupt,
            {"truncated: expected 1099511627776 data bytes for shape (274877906944,) <f4, found 12"});

  check_bad("complex64.npy", ErrorKind::kUnsupported, {"'<c8'", "complex", "supported: f2 f4 f8"});
  check_bad("object.npy", ErrorKind::kUnsupported, {"'|O'", "Python objects", "supported:"});
  check_bad("datetime.npy", ErrorKind::kUnsupported, {"'<M8[ns]'", "datetime"});
  check_bad("float128.npy", ErrorKind::kUnsupported, {"'<f16'", "supported:"});
  check_bad("structured.npy", ErrorKind::kUnsupported, {"structured [('a', '<f4'), ('b', '>i2')]", "supported:"});
  // Format 3.0, UTF-8 field name: escaped so the message stays ASCII.
  check_bad("structured_unicode_v3.npy", ErrorKind::kUnsupported, {"structured", "\\xe2\\x9c\\x93"});
}

TEST_CASE("npy: a missing file is an I/O error") {
  auto result = read_npy_file(fixture("no_such_file.npy"));
  REQUIRE_FALSE(result.ok());
  CHECK(result.status().kind() == ErrorKind::kIo);
  CHECK(result.status().message().find("no_such_file.npy") != std::string::npos);
}

TEST_CASE("npy: the origin names the archive member") {
  const std::vector<unsigned char> bytes = fixture_bytes("bad/truncated_data.npy");
  auto result = parse_npy(bytes.data(), bytes.size(), "dump.npz:priors.npy");
  REQUIRE_FALSE(result.ok());
  CHECK(result.status().message().rfind("dump.npz:priors.npy: truncated", 0) == 0);
}

TEST_CASE("npy: every prefix and every byte flip of a file is handled without reading out of bounds") {
  CHECK_FALSE(parse_npy(nullptr, 0, "null").ok());
  for (const char* name : {"f4_be_f_3d.npy", "text_u.npy", "f4_v3.npy", "scalar_f8.npy"}) {
    CAPTURE(name);
    const std::vector<unsigned char> good = fixture_bytes(name);
    for (size_t length = 0; length < good.size(); ++length) {
      // A copy of exactly `length` bytes, so ASan sees any read past it.
      const std::vector<unsigned char> prefix(good.begin(), good.begin() + static_cast<std::ptrdiff_t>(length));
      auto result = parse_npy(prefix.data(), prefix.size(), "prefix");
      CAPTURE(length);
      CHECK_FALSE(result.ok());
      CHECK(result.status().kind() == ErrorKind::kCorrupt);
    }
    for (size_t at = 0; at < good.size(); ++at) {
      for (const int flip : {0x01, 0x20, 0x80, 0xff}) {
        std::vector<unsigned char> bytes = good;
        bytes[at] = static_cast<unsigned char>(bytes[at] ^ flip);
        auto result = parse_npy(bytes.data(), bytes.size(), "flipped");
        if (result.ok()) {
          CHECK(result->data.size() == static_cast<size_t>(result->size() * result->dtype.itemsize));
        } else {
          CHECK(result.status().message().find('\n') == std::string::npos);
        }
      }
    }
  }
}

TEST_CASE("npy: npy_bytes writes exactly what np.save writes") {
  {
    std::vector<float> values(12);
    for (size_t i = 0; i < values.size(); ++i) values[i] = static_cast<float>(i) * 0.25f - 1.0f;
    CHECK(npy_bytes(values.data(), {3, 4}) == fixture_bytes("written_by_numpy_f4.npy"));
  }
  {
    std::vector<double> values(8);
    for (size_t i = 0; i < values.size(); ++i) values[i] = static_cast<double>(i) * 1.5 - 3.0;
    CHECK(npy_bytes(values.data(), {2, 2, 2}) == fixture_bytes("written_by_numpy_f8.npy"));
  }
  {
    const std::vector<int64_t> values = {-3, 0, 7, int64_t{1} << 40, kInt64Min, kInt64Max};
    CHECK(npy_bytes(values.data(), {6}) == fixture_bytes("written_by_numpy_i8.npy"));
  }
  {
    const double value = 2.5;
    CHECK(npy_bytes(&value, {}) == fixture_bytes("written_by_numpy_f8_0d.npy"));
  }
  {
    const float* none = nullptr;
    CHECK(npy_bytes(none, {0, 3}) == fixture_bytes("written_by_numpy_f4_0x3.npy"));
  }
  {
    std::vector<float> values(130);
    for (size_t i = 0; i < values.size(); ++i) values[i] = static_cast<float>(i) / 8.0f;
    CHECK(npy_bytes(values.data(), {130}) == fixture_bytes("written_by_numpy_f4_130.npy"));
  }
}

TEST_CASE("npy: writer round trip, and format 2.0 when the header outgrows 64 KiB") {
  const std::vector<double> values = {1.0, -2.5, 1e300, -0.0, 0.1, 42.0};
  const std::vector<unsigned char> bytes = npy_bytes(values.data(), {3, 2});
  auto back = parse_npy(bytes.data(), bytes.size(), "round trip");
  REQUIRE_MESSAGE(back.ok(), back.status().message());
  CHECK(back->shape == std::vector<int64_t>{3, 2});
  CHECK(back->dtype.descr() == "<f8");
  for (int64_t i = 0; i < 6; ++i) CHECK(same_double(back->to_double(i), values[static_cast<size_t>(i)]));

  // 25000 axes of length 1: a header of ~75 KB needs the 32-bit length field.
  const std::vector<int64_t> many_axes(25000, 1);
  const int64_t one = 7;
  const std::vector<unsigned char> wide = npy_bytes(&one, many_axes);
  REQUIRE(wide.size() > 12);
  CHECK(wide[6] == 2);
  CHECK(wide[7] == 0);
  const size_t header_len = wide[8] | (wide[9] << 8) | (wide[10] << 16) | (static_cast<size_t>(wide[11]) << 24);
  CHECK((12 + header_len) % 64 == 0);
  CHECK(wide[12 + header_len - 1] == '\n');
  auto wide_back = parse_npy(wide.data(), wide.size(), "wide");
  REQUIRE_MESSAGE(wide_back.ok(), wide_back.status().message());
  CHECK(wide_back->shape == many_axes);
  CHECK(wide_back->to_int64(0) == 7);

  // Every format 1.0 header is padded to a multiple of 64 bytes.
  for (const int64_t n : std::vector<int64_t>{0, 1, 9, 10, 99, 12345678901LL}) {
    const std::vector<unsigned char> small = npy_bytes(static_cast<const float*>(nullptr), {0, n});
    const size_t len = small[8] | (small[9] << 8);
    CHECK((10 + len) % 64 == 0);
    CHECK(small.size() == 10 + len);
  }
}

TEST_CASE("npy: a file is read header first, whatever the header's length or the file's kind") {
  assignscope::testing::TempDir tmp;
  const auto write = [&](const std::string& name, const std::vector<unsigned char>& bytes) {
    std::ofstream out(tmp.path(name), std::ios::binary);
    out.write(reinterpret_cast<const char*>(bytes.data()), static_cast<std::streamsize>(bytes.size()));
  };
  // A header of ~75 KB, longer than the first bytes read.
  const std::vector<int64_t> many_axes(25000, 1);
  const int64_t one = 7;
  write("wide.npy", npy_bytes(&one, many_axes));
  const NpyArray wide = [&]() {
    auto a = read_npy_file(tmp.path("wide.npy"));
    REQUIRE_MESSAGE(a.ok(), a.status().message());
    return std::move(a).value();
  }();
  CHECK(wide.shape == many_axes);
  CHECK(wide.to_int64(0) == 7);
  // Its header alone over the budget.
  assignscope::testing::check_error(
      read_npy_file(tmp.path("wide.npy"), assignscope::io::MemoryBudget{8192, "test"}).status(),
      ErrorKind::kInvalidInput, tmp.path("wide.npy"), {"the .npy header needs", "more than the 8.0 KiB"});

  // The data over the budget: refused from the header, before it is read.
  const std::vector<float> values(1000, 1.5f);
  write("floats.npy", npy_bytes(values.data(), {1000}));
  assignscope::testing::check_error(
      read_npy_file(tmp.path("floats.npy"), assignscope::io::MemoryBudget{1000, "test"}).status(),
      ErrorKind::kInvalidInput, tmp.path("floats.npy"),
      {"shape (1000,) <f4 needs 4128 bytes (4.0 KiB), more than the 1000 bytes of memory available (test); "
       "refused before reading the data"});

  // A FIFO: no size up front, read to its end.
  const std::string fifo = tmp.path("pipe.npy");
  REQUIRE(mkfifo(fifo.c_str(), 0600) == 0);
  const std::string feed = "cat '" + tmp.path("floats.npy") + "' > '" + fifo + "' &";
  REQUIRE(std::system(feed.c_str()) == 0);
  auto piped = read_npy_file(fifo);
  REQUIRE_MESSAGE(piped.ok(), piped.status().message());
  CHECK(piped->shape == std::vector<int64_t>{1000});
  CHECK(piped->to_double(999) == 1.5);
  // Through a FIFO too: the long header, and a shape over the budget refused
  // from the header (the writer then sees the pipe closed).
  const std::string feed_wide = "cat '" + tmp.path("wide.npy") + "' > '" + fifo + "' &";
  REQUIRE(std::system(feed_wide.c_str()) == 0);
  auto wide_piped = read_npy_file(fifo);
  REQUIRE_MESSAGE(wide_piped.ok(), wide_piped.status().message());
  CHECK(wide_piped->shape == many_axes);
  REQUIRE(std::system(feed.c_str()) == 0);
  assignscope::testing::check_error(read_npy_file(fifo, assignscope::io::MemoryBudget{1000, "test"}).status(),
                                    ErrorKind::kInvalidInput, fifo,
                                    {"shape (1000,) <f4 needs 4128 bytes", "refused before reading the data"});
}

TEST_CASE("npy: parsing from an owned buffer gives what parsing a copy gives") {
  for (const char* name :
       {"f4_le_c.npy", "f8_be_c.npy", "f4_be_f_3d.npy", "text_u_be.npy", "empty_f8_f_0x3.npy", "scalar_i8_be.npy"}) {
    CAPTURE(name);
    std::vector<unsigned char> bytes = fixture_bytes(name);
    auto copied = parse_npy(bytes.data(), bytes.size(), name);
    auto adopted = parse_npy(std::move(bytes), name);
    REQUIRE(copied.ok());
    REQUIRE(adopted.ok());
    CHECK(adopted->shape == copied->shape);
    CHECK(adopted->dtype.descr() == copied->dtype.descr());
    CHECK(adopted->data == copied->data);
  }
}
