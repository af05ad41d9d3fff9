// numpy .npy reading (header literal parser, dtype checks, byte-order and Fortran-order normalisation) and writing.
#include "io/npy.h"

#include <cmath>
#include <cstring>
#include <limits>
#include <new>
#include <string_view>
#include <utility>

#include "core/guarded.h"
#include "core/number.h"
#include "core/text.h"
#include "io/files.h"

#if defined(__BYTE_ORDER__) && __BYTE_ORDER__ == __ORDER_BIG_ENDIAN__
#error "assignscope assumes a little-endian host: parsed .npy data is stored little-endian as native"
#endif

namespace assignscope::io {
namespace detail {
namespace {

constexpr unsigned char kMagic[6] = {0x93, 'N', 'U', 'M', 'P', 'Y'};
constexpr size_t kMagicLen = sizeof kMagic;
constexpr size_t kArrayAlign = 64;        // numpy pads the whole header to this
constexpr size_t kGrowthAxisDigits = 21;  // numpy's spare room after the shape
constexpr int kMaxNesting = 32;           // deepest literal nesting the parser follows
constexpr size_t kHeadBytes = 4096;       // read first from a file: numpy's headers are far shorter
constexpr const char* kSupportedDTypes = "f2 f4 f8 i1 i2 i4 i8 u1 u2 u4 u8 b1 (and U/S for text)";

uint16_t load_u16_le(const unsigned char* p) { return static_cast<uint16_t>(p[0] | (p[1] << 8)); }

uint32_t load_u32_le(const unsigned char* p) {
  return static_cast<uint32_t>(p[0]) | (static_cast<uint32_t>(p[1]) << 8) | (static_cast<uint32_t>(p[2]) << 16) |
         (static_cast<uint32_t>(p[3]) << 24);
}

// a * b, or false when it does not fit in uint64.
bool checked_mul(uint64_t a, uint64_t b, uint64_t* out) {
  if (a != 0 && b > std::numeric_limits<uint64_t>::max() / a) return false;
  *out = a * b;
  return true;
}

// ---------------------------------------------------------------------------
// The header: a Python dict literal. A small recursive-descent parser for the
// subset numpy (and older Python 2 writers) produce: dicts, tuples, lists,
// quoted strings, decimal ints (optionally with an L suffix), True/False/None.

struct PyValue {
  enum class Kind { kString, kInt, kBool, kNone, kTuple, kList, kDict, kOther };
  Kind kind = Kind::kOther;
  std::string source;          // the literal as written, for messages
  std::string text;            // kString: the decoded contents
  bool negative = false;       // kInt
  bool int_overflow = false;   // kInt: magnitude does not fit in uint64
  uint64_t magnitude = 0;      // kInt
  bool flag = false;           // kBool
  std::vector<PyValue> items;  // kTuple / kList; kDict: key, value, key, value...
};

const char* kind_name(PyValue::Kind kind) {
  switch (kind) {
    case PyValue::Kind::kString: return "a string";
    case PyValue::Kind::kInt: return "an integer";
    case PyValue::Kind::kBool: return "a bool";
    case PyValue::Kind::kNone: return "None";
    case PyValue::Kind::kTuple: return "a tuple";
    case PyValue::Kind::kList: return "a list";
    case PyValue::Kind::kDict: return "a dict";
    case PyValue::Kind::kOther: return "a non-literal";
  }
  return "a value";
}

class HeaderParser {
 public:
  explicit HeaderParser(std::string_view text) : text_(text) {}

  // Parses the whole header: one value followed only by whitespace.
  bool parse(PyValue* out) {
    skip_space();
    if (pos_ >= text_.size() || text_[pos_] != '{') return fail("expected a dict literal starting with '{'");
    if (!parse_value(out, 0)) return false;
    skip_space();
    if (pos_ != text_.size()) return fail("expected only padding after the closing '}'");
    return true;
  }

  const std::string& error() const { return error_; }

 private:
  bool fail(const std::string& what) {
    if (error_.empty()) {
      error_ = what + " at header offset " + std::to_string(pos_) + ", found ";
      error_ +=
          pos_ < text_.size() ? "'" + printable(text_.substr(pos_), 20) + "'" : std::string("the end of the header");
    }
    return false;
  }

  void skip_space() {
    while (pos_ < text_.size()) {
      const char c = text_[pos_];
      if (c != ' ' && c != '\t' && c != '\n' && c != '\r' && c != '\f' && c != '\v') break;
      ++pos_;
    }
  }

  static bool is_atom_char(char c) {
    return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '_' || c == '.' ||
           c == '+' || c == '-';
  }

  bool parse_value(PyValue* out, int depth) {
    if (depth > kMaxNesting) return fail("header nesting deeper than " + std::to_string(kMaxNesting));
    skip_space();
    if (pos_ >= text_.size()) return fail("expected a value");
    const size_t start = pos_;
    const char c = text_[pos_];
    bool ok = false;
    if (c == '\'' || c == '"') {
      ok = parse_string(out);
    } else if ((c == 'u' || c == 'U') && pos_ + 1 < text_.size() &&
               (text_[pos_ + 1] == '\'' || text_[pos_ + 1] == '"')) {
      ++pos_;  // Python 2 unicode literal u'...'
      ok = parse_string(out);
    } else if (c == '{') {
      ok = parse_dict(out, depth);
    } else if (c == '(') {
      ok = parse_parenthesised(out, depth);
    } else if (c == '[') {
      out->kind = PyValue::Kind::kList;
      ++pos_;
      ok = parse_items(out, ']', depth);
    } else if (is_atom_char(c)) {
      ok = parse_atom(out);
    } else {
      return fail("expected a value");
    }
    if (ok) out->source = std::string(text_.substr(start, pos_ - start));
    return ok;
  }

  bool parse_string(PyValue* out) {
    const char quote = text_[pos_++];
    out->kind = PyValue::Kind::kString;
    while (pos_ < text_.size()) {
      const char c = text_[pos_++];
      if (c == quote) return true;
      if (c == '\n') break;
      if (c == '\\') {
        if (pos_ >= text_.size()) break;
        const char e = text_[pos_++];
        if (e == '\\' || e == '\'' || e == '"') {
          out->text += e;
        } else {  // other escapes are kept as written; no valid key or descr uses them
          out->text += '\\';
          out->text += e;
        }
        continue;
      }
      out->text += c;
    }
    return fail("unterminated string literal");
  }

  bool parse_atom(PyValue* out) {
    const size_t start = pos_;
    while (pos_ < text_.size() && is_atom_char(text_[pos_])) ++pos_;
    std::string_view atom = text_.substr(start, pos_ - start);
    if (atom == "True" || atom == "False") {
      out->kind = PyValue::Kind::kBool;
      out->flag = atom == "True";
      return true;
    }
    if (atom == "None") {
      out->kind = PyValue::Kind::kNone;
      return true;
    }
    std::string_view digits = atom;
    bool negative = false;
    if (!digits.empty() && (digits[0] == '-' || digits[0] == '+')) {
      negative = digits[0] == '-';
      digits.remove_prefix(1);
    }
    if (!digits.empty() && (digits.back() == 'L' || digits.back() == 'l')) digits.remove_suffix(1);
    bool all_digits = !digits.empty();
    for (const char d : digits) all_digits = all_digits && d >= '0' && d <= '9';
    if (!all_digits) {
      out->kind = PyValue::Kind::kOther;  // 3.5, 1e3, names: reported by the caller
      return true;
    }
    out->kind = PyValue::Kind::kInt;
    out->negative = negative;
    for (const char d : digits) {
      uint64_t scaled = 0;
      const auto digit = static_cast<uint64_t>(d - '0');
      if (!checked_mul(out->magnitude, 10, &scaled) || scaled > std::numeric_limits<uint64_t>::max() - digit) {
        out->int_overflow = true;
        break;
      }
      out->magnitude = scaled + digit;
    }
    return true;
  }

  // Comma-separated values up to `close`; a trailing comma is allowed.
  bool parse_items(PyValue* out, char close, int depth) {
    for (;;) {
      skip_space();
      if (pos_ < text_.size() && text_[pos_] == close) {
        ++pos_;
        return true;
      }
      PyValue item;
      if (!parse_value(&item, depth + 1)) return false;
      out->items.push_back(std::move(item));
      skip_space();
      if (pos_ < text_.size() && text_[pos_] == ',') {
        ++pos_;
        continue;
      }
      if (pos_ < text_.size() && text_[pos_] == close) {
        ++pos_;
        return true;
      }
      return fail(std::string("expected ',' or '") + close + "'");
    }
  }

  // "(...)": a tuple when empty or when it holds a comma, else just the value
  // in parentheses, as Python reads it ("(5)" is the int 5).
  bool parse_parenthesised(PyValue* out, int depth) {
    ++pos_;
    skip_space();
    if (pos_ < text_.size() && text_[pos_] == ')') {
      ++pos_;
      out->kind = PyValue::Kind::kTuple;
      return true;
    }
    PyValue first;
    if (!parse_value(&first, depth + 1)) return false;
    skip_space();
    if (pos_ < text_.size() && text_[pos_] == ')') {
      ++pos_;
      *out = std::move(first);
      return true;
    }
    if (pos_ >= text_.size() || text_[pos_] != ',') return fail("expected ',' or ')'");
    ++pos_;
    out->kind = PyValue::Kind::kTuple;
    out->items.push_back(std::move(first));
    return parse_items(out, ')', depth);
  }

  bool parse_dict(PyValue* out, int depth) {
    ++pos_;
    out->kind = PyValue::Kind::kDict;
    for (;;) {
      skip_space();
      if (pos_ < text_.size() && text_[pos_] == '}') {
        ++pos_;
        return true;
      }
      PyValue key;
      if (!parse_value(&key, depth + 1)) return false;
      skip_space();
      if (pos_ >= text_.size() || text_[pos_] != ':') return fail("expected ':' after a dict key");
      ++pos_;
      PyValue value;
      if (!parse_value(&value, depth + 1)) return false;
      out->items.push_back(std::move(key));
      out->items.push_back(std::move(value));
      skip_space();
      if (pos_ < text_.size() && text_[pos_] == ',') {
        ++pos_;
        continue;
      }
      if (pos_ < text_.size() && text_[pos_] == '}') {
        ++pos_;
        return true;
      }
      return fail("expected ',' or '}' in the header dict");
    }
  }

  std::string_view text_;
  size_t pos_ = 0;
  std::string error_;
};

// ---------------------------------------------------------------------------
// Header fields.

struct Header {
  DType dtype;
  bool fortran_order = false;
  std::vector<int64_t> shape;
};

// Parses a numpy type string such as "<f4", ">i8", "|b1", "<U12", "|S5".
Status parse_descr(const std::string& descr, DType* out) {
  const std::string shown = "'" + printable(descr, 80) + "'";
  std::string_view rest = descr;
  char order = '=';
  if (!rest.empty() && (rest[0] == '<' || rest[0] == '>' || rest[0] == '|' || rest[0] == '=')) {
    order = rest[0];
    rest.remove_prefix(1);
  }
  if (rest.empty()) return Status::Corrupt("descr " + shown + " names no type; expected e.g. '<f4'");
  const char kind_char = rest[0];
  std::string_view size_text = rest.substr(1);
  bool all_digits = !size_text.empty() && size_text.size() <= 9;  // fits an int
  for (const char d : size_text) all_digits = all_digits && d >= '0' && d <= '9';
  const int size = all_digits ? static_cast<int>(*parse_int(size_text)) : -1;

  const auto unsupported = [&](const std::string& what) {
    return Status::Unsupported("unsupported dtype " + shown + (what.empty() ? "" : " (" + what + ")") +
                               "; supported: " + kSupportedDTypes);
  };
  DType dtype;
  switch (kind_char) {
    case 'f':
      if (size != 2 && size != 4 && size != 8) return unsupported(size > 8 ? "extended precision float" : "");
      dtype.kind = DTypeKind::kFloat;
      dtype.itemsize = size;
      break;
    case 'i':
    case 'u':
      if (size != 1 && size != 2 && size != 4 && size != 8) return unsupported("");
      dtype.kind = kind_char == 'i' ? DTypeKind::kInt : DTypeKind::kUInt;
      dtype.itemsize = size;
      break;
    case 'b':
      if (size != 1) return unsupported("");
      dtype.kind = DTypeKind::kBool;
      dtype.itemsize = 1;
      break;
    case 'U':
      if (size < 0 || size > std::numeric_limits<int>::max() / 4) return unsupported("");
      dtype.kind = DTypeKind::kUnicode;
      dtype.itemsize = 4 * size;
      break;
    case 'S':
      if (size < 0) return unsupported("");
      dtype.kind = DTypeKind::kBytes;
      dtype.itemsize = size;
      break;
    case 'c': return unsupported("complex");
    case 'O': return unsupported("Python objects");
    case 'M': return unsupported("datetime");
    case 'm': return unsupported("timedelta");
    case 'V': return unsupported("raw void/structured");
    default: return unsupported("");
  }
  const bool single_byte = dtype.itemsize == 1 && dtype.kind != DTypeKind::kUnicode;
  if (order == '|' && !single_byte && dtype.kind != DTypeKind::kUnicode && dtype.kind != DTypeKind::kBytes) {
    return Status::Corrupt("descr " + shown + " gives byte order '|' (not applicable) to a " +
                           std::to_string(dtype.itemsize) + "-byte type; expected '<" + std::string(rest) + "' or '>" +
                           std::string(rest) + "'");
  }
  dtype.big_endian = order == '>' && !single_byte && dtype.kind != DTypeKind::kBytes;
  *out = dtype;
  return Status();
}

Status header_from_value(const PyValue& dict, Header* out) {
  static const char* const kExpected = "expected the keys 'descr', 'fortran_order' and 'shape'";
  if (dict.kind != PyValue::Kind::kDict)
    return Status::Corrupt(std::string("malformed header: found ") + kind_name(dict.kind) +
                           ", expected a dict with the keys 'descr', 'fortran_order' and 'shape'");
  const PyValue* descr = nullptr;
  const PyValue* fortran = nullptr;
  const PyValue* shape = nullptr;
  for (size_t i = 0; i + 1 < dict.items.size(); i += 2) {
    const PyValue& key = dict.items[i];
    if (key.kind != PyValue::Kind::kString)
      return Status::Corrupt("malformed header: key " + printable(key.source, 80) + " is not a string; " + kExpected);
    const PyValue** slot = key.text == "descr"           ? &descr
                           : key.text == "fortran_order" ? &fortran
                           : key.text == "shape"         ? &shape
                                                         : nullptr;
    if (slot == nullptr)
      return Status::Corrupt("malformed header: unknown key '" + printable(key.text, 80) + "'; " + kExpected);
    if (*slot != nullptr)
      return Status::Corrupt("malformed header: duplicate key '" + key.text + "'; " + kExpected + " once each");
    *slot = &dict.items[i + 1];
  }
  for (const auto& [value, name] :
       {std::pair{descr, "descr"}, std::pair{fortran, "fortran_order"}, std::pair{shape, "shape"}}) {
    if (value == nullptr) return Status::Corrupt(std::string("malformed header: no '") + name + "' key; " + kExpected);
  }

  if (fortran->kind != PyValue::Kind::kBool)
    return Status::Corrupt("malformed header: 'fortran_order' is " + printable(fortran->source, 80) +
                           ", expected True or False");
  out->fortran_order = fortran->flag;

  if (shape->kind != PyValue::Kind::kTuple)
    return Status::Corrupt("malformed header: 'shape' is " + printable(shape->source, 80) +
                           ", expected a tuple of non-negative integers such as (3, 4)");
  out->shape.clear();
  for (const PyValue& dim : shape->items) {
    if (dim.kind != PyValue::Kind::kInt)
      return Status::Corrupt("malformed header: shape dimension " + printable(dim.source, 80) +
                             " is not an integer; expected a tuple of non-negative integers");
    if (dim.negative && (dim.magnitude != 0 || dim.int_overflow))
      return Status::Corrupt("malformed header: shape dimension " + printable(dim.source, 80) +
                             " is negative; expected a non-negative integer");
    if (dim.int_overflow || dim.magnitude > static_cast<uint64_t>(std::numeric_limits<int64_t>::max()))
      return Status::Corrupt("malformed header: shape dimension " + printable(dim.source, 80) +
                             " does not fit in 64 bits");
    out->shape.push_back(static_cast<int64_t>(dim.magnitude));
  }

  if (descr->kind == PyValue::Kind::kList)
    return Status::Unsupported("unsupported dtype: structured " + printable(descr->source, 80) +
                               "; supported: " + kSupportedDTypes);
  if (descr->kind != PyValue::Kind::kString)
    return Status::Corrupt("malformed header: 'descr' is " + printable(descr->source, 80) +
                           ", expected a type string such as '<f4'");
  return parse_descr(descr->text, &out->dtype);
}

// ---------------------------------------------------------------------------
// Data normalisation.

void swap_units(unsigned char* data, size_t bytes, size_t unit) {
  for (size_t off = 0; off + unit <= bytes; off += unit) {
    for (size_t a = off, b = off + unit - 1; a < b; ++a, --b) std::swap(data[a], data[b]);
  }
}

// Rewrites Fortran-order elements (first index fastest) in C order (last
// index fastest). `shape` has no zero dimension here.
void fortran_to_c(const unsigned char* src, unsigned char* dst, const std::vector<int64_t>& shape, size_t elem_size) {
  const size_t ndim = shape.size();
  // Per axis: its byte stride in the Fortran layout, and the odometer's digit.
  struct Axis {
    size_t stride = 0;
    size_t extent = 0;
    size_t index = 0;
  };
  std::vector<Axis> axes(ndim);
  size_t step = elem_size;
  for (size_t k = 0; k < ndim; ++k) {
    axes[k].stride = step;
    axes[k].extent = static_cast<size_t>(shape[k]);
    step *= axes[k].extent;
  }
  const size_t total = step;
  size_t src_off = 0;
  for (size_t dst_off = 0; dst_off < total; dst_off += elem_size) {
    std::memcpy(dst + dst_off, src + src_off, elem_size);
    for (size_t k = ndim; k-- > 0;) {  // odometer, last axis fastest
      Axis& a = axes[k];
      src_off += a.stride;
      if (++a.index < a.extent) break;
      src_off -= a.stride * a.extent;
      a.index = 0;
    }
  }
}

// IEEE 754 binary16 to binary32; every half value is exact in a float.
float half_to_float(uint16_t half) {
  const uint32_t sign = static_cast<uint32_t>(half & 0x8000u) << 16;
  uint32_t exponent = (half >> 10) & 0x1fu;
  uint32_t mantissa = half & 0x3ffu;
  uint32_t bits = 0;
  if (exponent == 0x1f) {  // inf / nan, payload kept
    bits = sign | 0x7f800000u | (mantissa << 13);
  } else if (exponent != 0) {  // normal
    bits = sign | ((exponent + 127 - 15) << 23) | (mantissa << 13);
  } else if (mantissa == 0) {  // signed zero
    bits = sign;
  } else {  // subnormal: renormalise into a normal float
    uint32_t shift = 0;
    while ((mantissa & 0x400u) == 0) {
      mantissa <<= 1;
      ++shift;
    }
    mantissa &= 0x3ffu;
    exponent = 127 - 15 + 1 - shift;
    bits = sign | (exponent << 23) | (mantissa << 13);
  }
  float value = 0;
  std::memcpy(&value, &bits, sizeof value);
  return value;
}

template <class T>
T load(const unsigned char* p) {
  T value;
  std::memcpy(&value, p, sizeof value);
  return value;
}

// A float as int64, truncated toward zero; saturating, NaN as 0.
int64_t saturating_trunc(double value) {
  if (std::isnan(value)) return 0;
  if (value >= 9223372036854775808.0) return std::numeric_limits<int64_t>::max();
  if (value <= -9223372036854775808.0) return std::numeric_limits<int64_t>::min();
  return static_cast<int64_t>(value);
}

void append_utf8(uint32_t cp, std::string* out) {
  if ((cp >= 0xd800 && cp <= 0xdfff) || cp > 0x10ffff) cp = 0xfffd;  // not a scalar value
  if (cp < 0x80) {
    *out += static_cast<char>(cp);
  } else if (cp < 0x800) {
    *out += static_cast<char>(0xc0 | (cp >> 6));
    *out += static_cast<char>(0x80 | (cp & 0x3f));
  } else if (cp < 0x10000) {
    *out += static_cast<char>(0xe0 | (cp >> 12));
    *out += static_cast<char>(0x80 | ((cp >> 6) & 0x3f));
    *out += static_cast<char>(0x80 | (cp & 0x3f));
  } else {
    *out += static_cast<char>(0xf0 | (cp >> 18));
    *out += static_cast<char>(0x80 | ((cp >> 12) & 0x3f));
    *out += static_cast<char>(0x80 | ((cp >> 6) & 0x3f));
    *out += static_cast<char>(0x80 | (cp & 0x3f));
  }
}

// Bytes before the header text (magic, version, header length), or 0 with
// `*error` set when they are missing or wrong.
size_t preamble_length(const unsigned char* bytes, size_t size, const std::string& origin, size_t* header_len,
                       Status* error) {
  const auto corrupt = [&](const std::string& msg) { return Status::Corrupt(origin + ": " + msg); };
  const size_t magic_seen = size < kMagicLen ? size : kMagicLen;
  if (magic_seen == 0 || std::memcmp(bytes, kMagic, magic_seen) != 0) {
    const std::string found =
        magic_seen == 0 ? std::string() : std::string(reinterpret_cast<const char*>(bytes), magic_seen);
    const bool looks_zip = size >= 4 && std::memcmp(bytes, "PK\x03\x04", 4) == 0;
    *error = corrupt("not a .npy file: expected the magic \\x93NUMPY, found " +
                     (magic_seen == 0 ? std::string("an empty file") : "'" + printable(found, 80) + "'") +
                     (looks_zip ? " (this is a zip archive; .npz files hold .npy members)" : ""));
    return 0;
  }
  if (size < kMagicLen + 2) {
    *error =
        corrupt("truncated: " + std::to_string(size) + " bytes, shorter than the .npy magic and version (8 bytes)");
    return 0;
  }
  const int major = bytes[6];
  const int minor = bytes[7];
  if (major < 1 || major > 3 || minor != 0) {
    *error = Status::Unsupported(origin + ": unsupported .npy format version " + std::to_string(major) + "." +
                                 std::to_string(minor) + "; expected 1.0, 2.0 or 3.0");
    return 0;
  }
  const size_t length_bytes = major == 1 ? 2 : 4;
  const size_t header_start = kMagicLen + 2 + length_bytes;
  if (size < header_start) {
    *error = corrupt("truncated: " + std::to_string(size) + " bytes, shorter than the " + std::to_string(header_start) +
                     "-byte preamble of format " + std::to_string(major) + ".0");
    return 0;
  }
  *header_len = major == 1 ? load_u16_le(bytes + 8) : static_cast<size_t>(load_u32_le(bytes + 8));
  return header_start;
}

Result<NpyHeader> parse_header_impl(const unsigned char* bytes, size_t size, const std::string& origin) {
  const auto corrupt = [&](const std::string& msg) { return Status::Corrupt(origin + ": " + msg); };
  size_t header_len = 0;
  Status error;
  const size_t header_start = preamble_length(bytes, size, origin, &header_len, &error);
  if (header_start == 0) return error;
  if (size - header_start < header_len)
    return corrupt("truncated header: the header declares " + std::to_string(header_len) + " bytes, found " +
                   std::to_string(size - header_start));

  // Header dict.
  const std::string_view header_text(reinterpret_cast<const char*>(bytes + header_start), header_len);
  PyValue dict;
  HeaderParser parser(header_text);
  if (!parser.parse(&dict))
    return corrupt("malformed header: " + parser.error() +
                   "; expected a dict like {'descr': '<f4', 'fortran_order': False, 'shape': (3,), }");
  Header header;
  const Status header_status = header_from_value(dict, &header);
  if (!header_status.ok()) return header_status.WithContext(origin);

  // Data size, computed with overflow checks before anything is allocated.
  const std::string what = shape_string(header.shape) + " " + header.dtype.descr();
  uint64_t elements = 1;
  bool has_zero = false;
  for (const int64_t dim : header.shape) {
    if (dim == 0) {
      has_zero = true;
      continue;
    }
    if (!checked_mul(elements, static_cast<uint64_t>(dim), &elements) ||
        elements > static_cast<uint64_t>(std::numeric_limits<int64_t>::max()))
      return corrupt("shape " + what + " is too large: its element count overflows 64 bits");
  }
  uint64_t needed = 0;
  if (!checked_mul(elements, static_cast<uint64_t>(header.dtype.itemsize), &needed) ||
      needed > static_cast<uint64_t>(std::numeric_limits<int64_t>::max()) - header_start - header_len)
    return corrupt("shape " + what + " is too large: its byte count overflows 64 bits");
  NpyHeader out;
  out.dtype = header.dtype;
  out.fortran_order = header.fortran_order;
  out.shape = std::move(header.shape);
  out.data_offset = header_start + header_len;
  out.data_bytes = has_zero ? 0 : needed;
  return out;
}

// The data bytes a header needs against the bytes after it.
Status check_data_size(const NpyHeader& header, uint64_t size, const std::string& origin) {
  const std::string what = shape_string(header.shape) + " " + header.dtype.descr();
  const uint64_t needed = header.data_bytes;
  const uint64_t present = size - header.data_offset;
  if (present < needed)
    return Status::Corrupt(origin + ": truncated: expected " + std::to_string(needed) + " data bytes for shape " +
                           what + ", found " + std::to_string(present));
  if (present > needed)
    return Status::Corrupt(origin + ": " + std::to_string(present - needed) +
                           " trailing bytes after the data: expected " + std::to_string(needed) +
                           " data bytes for shape " + what + ", found " + std::to_string(present));
  return Status();
}

// Big-endian units swapped to native order, in place.
void to_native_order(const DType& dtype, std::vector<unsigned char>* data) {
  if (!dtype.big_endian) return;
  const size_t unit = dtype.kind == DTypeKind::kUnicode ? 4 : static_cast<size_t>(dtype.itemsize);
  if (unit > 1) swap_units(data->data(), data->size(), unit);
}

// The array of a checked header whose data starts at `data`, copied into C
// order and native byte order.
NpyArray copy_array(NpyHeader header, const unsigned char* data) {
  NpyArray array;
  array.dtype = header.dtype;
  array.shape = std::move(header.shape);
  const auto byte_count = static_cast<size_t>(header.data_bytes);
  if (header.fortran_order && array.shape.size() > 1 && byte_count > 0) {
    array.data.resize(byte_count);
    fortran_to_c(data, array.data.data(), array.shape, static_cast<size_t>(header.dtype.itemsize));
  } else {
    array.data.assign(data, data + byte_count);
  }
  to_native_order(array.dtype, &array.data);
  return array;
}

// The same, keeping the buffer that held the whole file when the data is
// already in C order: no second copy of a large array.
NpyArray adopt_array(NpyHeader header, std::vector<unsigned char>* bytes) {
  if (header.fortran_order && header.shape.size() > 1 && header.data_bytes > 0)
    return copy_array(std::move(header), bytes->data() + header.data_offset);
  NpyArray array;
  array.dtype = header.dtype;
  array.shape = std::move(header.shape);
  bytes->erase(bytes->begin(), bytes->begin() + static_cast<std::ptrdiff_t>(header.data_offset));
  array.data = std::move(*bytes);
  to_native_order(array.dtype, &array.data);
  return array;
}

template <class T>
std::vector<unsigned char> write_npy(const T* data, const std::vector<int64_t>& shape, const char* descr) {
  std::string dict =
      std::string("{'descr': '") + descr + "', 'fortran_order': False, 'shape': " + shape_string(shape) + ", }";
  if (!shape.empty()) {  // numpy leaves room to grow the first axis in place
    const size_t digits = std::to_string(shape[0]).size();
    dict.append(digits < kGrowthAxisDigits ? kGrowthAxisDigits - digits : 0, ' ');
  }
  const size_t text_len = dict.size() + 1;  // + the final '\n'
  size_t length_bytes = 2;
  size_t padding = kArrayAlign - (kMagicLen + 2 + length_bytes + text_len) % kArrayAlign;
  if (text_len + padding > 0xffff) {  // needs format 2.0's 32-bit length
    length_bytes = 4;
    padding = kArrayAlign - (kMagicLen + 2 + length_bytes + text_len) % kArrayAlign;
  }
  const size_t header_len = text_len + padding;

  size_t count = 1;
  for (const int64_t dim : shape) count *= dim > 0 ? static_cast<size_t>(dim) : 0;
  const size_t data_bytes = count * sizeof(T);

  std::vector<unsigned char> out;
  out.reserve(kMagicLen + 2 + length_bytes + header_len + data_bytes);
  out.insert(out.end(), kMagic, kMagic + kMagicLen);
  out.push_back(length_bytes == 2 ? 1 : 2);
  out.push_back(0);
  for (size_t i = 0; i < length_bytes; ++i) out.push_back(static_cast<unsigned char>(header_len >> (8 * i)));
  out.insert(out.end(), dict.begin(), dict.end());
  out.insert(out.end(), padding, ' ');
  out.push_back('\n');
  if (data_bytes > 0) {
    const auto* raw = reinterpret_cast<const unsigned char*>(data);
    out.insert(out.end(), raw, raw + data_bytes);
  }
  return out;
}

template <class T>
std::vector<unsigned char> write_npy_nothrow(const T* data, const std::vector<int64_t>& shape, const char* descr) {
  try {
    return write_npy(data, shape, descr);
  } catch (const std::bad_alloc&) {
    return {};  // never a valid .npy; callers writing files check for it
  }
}

}  // namespace
}  // namespace detail

std::string DType::descr() const {
  const bool single_byte = itemsize == 1 && kind != DTypeKind::kUnicode;
  std::string out;
  if (kind == DTypeKind::kBytes || single_byte) {
    out = "|";
  } else {
    out = big_endian ? ">" : "<";
  }
  switch (kind) {
    case DTypeKind::kFloat: out += 'f'; break;
    case DTypeKind::kInt: out += 'i'; break;
    case DTypeKind::kUInt: out += 'u'; break;
    case DTypeKind::kBool: out += 'b'; break;
    case DTypeKind::kUnicode: out += 'U'; break;
    case DTypeKind::kBytes: out += 'S'; break;
  }
  out += std::to_string(kind == DTypeKind::kUnicode ? itemsize / 4 : itemsize);
  return out;
}

int64_t NpyArray::size() const {
  int64_t count = 1;
  for (const int64_t dim : shape) {
    if (dim <= 0) return 0;
  }
  for (const int64_t dim : shape) {
    if (count > std::numeric_limits<int64_t>::max() / dim) return std::numeric_limits<int64_t>::max();
    count *= dim;
  }
  return count;
}

double NpyArray::to_double(int64_t i) const {
  const auto item = static_cast<size_t>(dtype.itemsize);
  if (i < 0 || item == 0 || static_cast<uint64_t>(i) >= data.size() / item)
    return std::numeric_limits<double>::quiet_NaN();
  const unsigned char* p = data.data() + static_cast<size_t>(i) * item;
  switch (dtype.kind) {
    case DTypeKind::kFloat:
      if (item == 2) return static_cast<double>(detail::half_to_float(detail::load<uint16_t>(p)));
      if (item == 4) return static_cast<double>(detail::load<float>(p));
      if (item == 8) return detail::load<double>(p);
      break;
    case DTypeKind::kInt:
      if (item == 1) return detail::load<int8_t>(p);
      if (item == 2) return detail::load<int16_t>(p);
      if (item == 4) return detail::load<int32_t>(p);
      if (item == 8) return static_cast<double>(detail::load<int64_t>(p));
      break;
    case DTypeKind::kUInt:
      if (item == 1) return detail::load<uint8_t>(p);
      if (item == 2) return detail::load<uint16_t>(p);
      if (item == 4) return detail::load<uint32_t>(p);
      if (item == 8) return static_cast<double>(detail::load<uint64_t>(p));
      break;
    case DTypeKind::kBool: return *p != 0 ? 1.0 : 0.0;
    case DTypeKind::kUnicode:
    case DTypeKind::kBytes: break;
  }
  return std::numeric_limits<double>::quiet_NaN();
}

int64_t NpyArray::to_int64(int64_t i) const {
  const auto item = static_cast<size_t>(dtype.itemsize);
  if (i < 0 || item == 0 || static_cast<uint64_t>(i) >= data.size() / item) return 0;
  const unsigned char* p = data.data() + static_cast<size_t>(i) * item;
  switch (dtype.kind) {
    case DTypeKind::kFloat: return detail::saturating_trunc(to_double(i));
    case DTypeKind::kInt:
      if (item == 1) return detail::load<int8_t>(p);
      if (item == 2) return detail::load<int16_t>(p);
      if (item == 4) return detail::load<int32_t>(p);
      if (item == 8) return detail::load<int64_t>(p);
      break;
    case DTypeKind::kUInt:
      if (item == 1) return detail::load<uint8_t>(p);
      if (item == 2) return detail::load<uint16_t>(p);
      if (item == 4) return detail::load<uint32_t>(p);
      if (item == 8) {
        const auto value = detail::load<uint64_t>(p);
        constexpr auto kMax = static_cast<uint64_t>(std::numeric_limits<int64_t>::max());
        return value > kMax ? std::numeric_limits<int64_t>::max() : static_cast<int64_t>(value);
      }
      break;
    case DTypeKind::kBool: return *p != 0 ? 1 : 0;
    case DTypeKind::kUnicode:
    case DTypeKind::kBytes: break;
  }
  return 0;
}

std::string NpyArray::to_text() const {
  if (size() != 1) return {};
  try {
    if (dtype.kind == DTypeKind::kBytes) {
      size_t end = data.size();
      while (end > 0 && data[end - 1] == 0) --end;
      return std::string(reinterpret_cast<const char*>(data.data()), end);
    }
    if (dtype.kind == DTypeKind::kUnicode) {
      size_t units = data.size() / 4;
      while (units > 0 && detail::load<uint32_t>(data.data() + 4 * (units - 1)) == 0) --units;
      std::string out;
      out.reserve(units);
      for (size_t u = 0; u < units; ++u) detail::append_utf8(detail::load<uint32_t>(data.data() + 4 * u), &out);
      return out;
    }
  } catch (const std::bad_alloc&) {
    return {};
  }
  return {};
}

std::string shape_string(const std::vector<int64_t>& shape) {
  std::string out = "(";
  for (size_t i = 0; i < shape.size(); ++i) {
    if (i > 0) out += ", ";
    out += std::to_string(shape[i]);
  }
  if (shape.size() == 1) out += ",";
  out += ")";
  return out;
}

Result<NpyHeader> parse_npy_header(const unsigned char* bytes, size_t size, const std::string& origin) {
  return guarded(origin, "reading the array", [&]() { return detail::parse_header_impl(bytes, size, origin); });
}

size_t npy_header_end(const unsigned char* bytes, size_t size) {
  size_t header_len = 0;
  Status ignored;
  const size_t start = detail::preamble_length(bytes, size, "", &header_len, &ignored);
  return start == 0 ? 0 : start + header_len;
}

Result<NpyArray> parse_npy(const unsigned char* bytes, size_t size, const std::string& origin) {
  return guarded(origin, "reading the array", [&]() -> Result<NpyArray> {
    ASSIGNSCOPE_ASSIGN_OR_RETURN(auto header, detail::parse_header_impl(bytes, size, origin));
    ASSIGNSCOPE_RETURN_IF_ERROR(detail::check_data_size(header, size, origin));
    const size_t data_offset = header.data_offset;
    return detail::copy_array(std::move(header), bytes + data_offset);
  });
}

Result<NpyArray> parse_npy(std::vector<unsigned char>&& bytes, const std::string& origin) {
  return guarded(origin, "reading the array", [&]() -> Result<NpyArray> {
    ASSIGNSCOPE_ASSIGN_OR_RETURN(auto header, detail::parse_header_impl(bytes.data(), bytes.size(), origin));
    ASSIGNSCOPE_RETURN_IF_ERROR(detail::check_data_size(header, bytes.size(), origin));
    return detail::adopt_array(std::move(header), &bytes);
  });
}

Result<NpyArray> read_npy_file(const std::string& path, const MemoryBudget& budget) {
  return guarded(path, "reading the array", [&]() -> Result<NpyArray> {
    // The header first, from the file's beginning; the size it declares is
    // checked against the file and the budget before the data is read.
    ASSIGNSCOPE_ASSIGN_OR_RETURN(InputFile file, open_file(path));
    std::vector<unsigned char> head;
    ASSIGNSCOPE_RETURN_IF_ERROR(file.read_up_to(detail::kHeadBytes, &head));
    const size_t header_end = npy_header_end(head.data(), head.size());
    const bool longer = header_end > head.size() && (!file.size_known() || header_end <= file.size());
    if (longer) {  // a header longer than kHeadBytes (a shorter file is reported truncated below)
      if (header_end > budget.bytes)
        return Status::InvalidInput(over_budget(path + ": the .npy header needs", header_end, budget));
      ASSIGNSCOPE_RETURN_IF_ERROR(file.read_up_to(header_end, &head));
    }
    ASSIGNSCOPE_ASSIGN_OR_RETURN(auto header, detail::parse_header_impl(head.data(), head.size(), path));
    if (file.size_known()) ASSIGNSCOPE_RETURN_IF_ERROR(detail::check_data_size(header, file.size(), path));
    if (header.total_bytes() > budget.bytes)
      return Status::InvalidInput(
          over_budget(path + ": shape " + shape_string(header.shape) + " " + header.dtype.descr() + " needs",
                      header.total_bytes(), budget) +
          "; refused before reading the data");
    std::vector<unsigned char> bytes = std::move(head);
    ASSIGNSCOPE_RETURN_IF_ERROR(file.read_rest(budget, &bytes));
    ASSIGNSCOPE_RETURN_IF_ERROR(detail::check_data_size(header, bytes.size(), path));
    return detail::adopt_array(std::move(header), &bytes);
  });
}

std::vector<unsigned char> npy_bytes(const float* data, const std::vector<int64_t>& shape) {
  return detail::write_npy_nothrow(data, shape, "<f4");
}

std::vector<unsigned char> npy_bytes(const double* data, const std::vector<int64_t>& shape) {
  return detail::write_npy_nothrow(data, shape, "<f8");
}

std::vector<unsigned char> npy_bytes(const int64_t* data, const std::vector<int64_t>& shape) {
  return detail::write_npy_nothrow(data, shape, "<i8");
}

}  // namespace assignscope::io
