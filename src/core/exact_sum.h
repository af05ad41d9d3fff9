// A sum of doubles whose value does not depend on the order of the
// additions, so that partial sums made on different machines (a sharded
// `trend`, its threads) merge to the same bits as one process adding in
// another order.
//
// Each addend is truncated toward zero to a multiple of 2^-96 and added
// exactly into a signed 192-bit fixed-point integer (scale 2^-96, range
// ±2^95). Addends whose magnitude reaches 2^80 are refused by add() (the
// values summed here are IoUs, counts and losses, far below it), which keeps
// every partial sum of up to 2^14 such addends in range; callers add
// bounded values. value() rounds the exact sum to the nearest double.
#pragma once

#include <array>
#include <cstdint>
#include <optional>
#include <string>

namespace assignscope {

class ExactSum {
 public:
  // False (and nothing added) for a non-finite v or |v| >= 2^80.
  bool add(double v);
  void add(const ExactSum& other);
  // The exact sum rounded to a double (ties to even).
  double value() const;
  bool operator==(const ExactSum& o) const { return limbs_ == o.limbs_; }
  bool operator!=(const ExactSum& o) const { return !(*this == o); }
  // 48 hex digits, most significant first: the two's-complement integer,
  // for partial results written to files; parse() reads it back.
  std::string hex() const;
  static std::optional<ExactSum> parse(const std::string& hex);

 private:
  std::array<uint64_t, 3> limbs_{};  // least significant first, two's complement
};

}  // namespace assignscope
