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
  int itemsize = 4;          // bytes per element (U<n>: 4 * n)
  bool big_endian = false;   // as stored in the file
  // numpy's spelling as stored, e.g. "<f4", ">i8", "|b1", "<U153".
  std::string descr() const;
};

struct NpyArray {
  DType dtype;
  std::vector<int64_t> shape;        // () for a 0-d array
  std::vector<unsigned char> data;   // C order, native byte order

  int ndim() const { return static_cast<int>(shape.size()); }
  int64_t size() const;              // product of shape (1 for 0-d)

  // Element i (C order) as a double / int64. Numeric dtypes only.
  double to_double(int64_t i) const;
  int64_t to_int64(int64_t i) const;  // floats truncated; callers check integrality
  // For U / S arrays of one element: the text as UTF-8.
  std::string to_text() const;
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
Result<NpyArray> read_npy_file(const std::string& path);

// Writes a little-endian, C-order .npy (format 1.0, or 2.0 when the header
// needs it) as numpy would. Element types: float32 ("<f4"), float64 ("<f8"),
// int64 ("<i8").
std::vector<unsigned char> npy_bytes(const float* data, const std::vector<int64_t>& shape);
std::vector<unsigned char> npy_bytes(const double* data, const std::vector<int64_t>& shape);
std::vector<unsigned char> npy_bytes(const int64_t* data, const std::vector<int64_t>& shape);

}  // namespace assignscope::io
