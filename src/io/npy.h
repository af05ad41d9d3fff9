// numpy .npy arrays: parse (format 1.0/2.0/3.0, every dtype of the dump
// contract, either byte order, C or Fortran order) and write.
//
// Parsed arrays are normalised: data is in C order and native (little-endian)
// byte order whatever the file held, so callers index it directly.
#pragma once

#include <cstddef>
#include <cstdint>
#include <string>
#include <vector>

#include "core/status.h"
#include "io/memory.h"

namespace assignscope::io {

enum class DTypeKind {
  kFloat,    // f2 f4 f8
  kInt,      // i1 i2 i4 i8
  kUInt,     // u1 u2 u4 u8
  kBool,     // b1
  kUnicode,  // U<n>: UTF-32 code units, n characters (only for 0-d/1-d text)
  kBytes,    // S<n>: n bytes                       (only for 0-d/1-d text)
};

struct DType {
  DTypeKind kind = DTypeKind::kFloat;
  int itemsize = 4;         // bytes per element (U<n>: 4 * n)
  bool big_endian = false;  // as stored in the file
  // numpy's spelling as stored, e.g. "<f4", ">i8", "|b1", "<U153".
  std::string descr() const;
};

struct NpyArray {
  DType dtype;
  std::vector<int64_t> shape;       // () for a 0-d array
  std::vector<unsigned char> data;  // C order, native byte order

  int ndim() const { return static_cast<int>(shape.size()); }
  int64_t size() const;  // product of shape (1 for 0-d)

  // Element i (C order) as a double / int64. Numeric dtypes only.
  double to_double(int64_t i) const;
  int64_t to_int64(int64_t i) const;  // floats truncated; callers check integrality
  // For U / S arrays of one element: the text as UTF-8.
  std::string to_text() const;
};

// What a .npy header declares, before any data is read.
struct NpyHeader {
  DType dtype;
  bool fortran_order = false;
  std::vector<int64_t> shape;
  size_t data_offset = 0;   // magic, version, header length and header text come first
  uint64_t data_bytes = 0;  // what the shape and dtype need (checked for overflow)
  uint64_t total_bytes() const { return data_offset + data_bytes; }
};

// Formats a shape as numpy prints it: "(3,)", "(2, 4)", "()".
std::string shape_string(const std::vector<int64_t>& shape);

// Parses .npy bytes. `origin` names the file (or archive member) in errors,
// e.g. "case/priors.npy" or "dump.npz:priors.npy". Errors are kCorrupt
// (bad magic, truncated, malformed header, data size disagreeing with the
// shape) or kUnsupported (structured/object/complex dtypes, unknown version).
// Sizes claimed by the header are checked against the bytes present before
// anything is allocated.
Result<NpyArray> parse_npy(const unsigned char* bytes, size_t size, const std::string& origin);
// The same, keeping `bytes` as the array's data when it is in C order (no copy).
Result<NpyArray> parse_npy(std::vector<unsigned char>&& bytes, const std::string& origin);

// The header alone, from the first bytes of a .npy (the data need not follow):
// the same errors as parse_npy for the preamble and header.
Result<NpyHeader> parse_npy_header(const unsigned char* bytes, size_t size, const std::string& origin);
// Where the header of .npy bytes ends (the data offset), from the preamble in
// the first 8 to 12 bytes; 0 when they are not a .npy preamble or too few.
size_t npy_header_end(const unsigned char* bytes, size_t size);

// Reads a .npy file. Its header is read first: a shape needing more bytes
// than the file holds, or than `budget` allows, is refused before the data
// is read.
Result<NpyArray> read_npy_file(const std::string& path, const MemoryBudget& budget = available_memory());

// Writes a little-endian, C-order .npy (format 1.0, or 2.0 when the header
// needs it) as numpy would. Element types: float32 ("<f4"), float64 ("<f8"),
// int64 ("<i8").
std::vector<unsigned char> npy_bytes(const float* data, const std::vector<int64_t>& shape);
std::vector<unsigned char> npy_bytes(const double* data, const std::vector<int64_t>& shape);
std::vector<unsigned char> npy_bytes(const int64_t* data, const std::vector<int64_t>& shape);

}  // namespace assignscope::io
