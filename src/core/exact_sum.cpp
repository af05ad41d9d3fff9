#include "core/exact_sum.h"

#include <cmath>

#include <fmt/format.h>

#include "core/number.h"

namespace assignscope {
namespace {

constexpr int kFractionBits = 96;
using Limbs = std::array<uint64_t, 3>;

// a += b, modulo 2^192.
void add_limbs(Limbs& a, const Limbs& b) {
  uint64_t carry = 0;
  for (size_t i = 0; i < a.size(); ++i) {
    const uint64_t s = a[i] + b[i];
    const uint64_t t = s + carry;
    carry = (s < a[i] ? 1 : 0) + (t < s ? 1 : 0);
    a[i] = t;
  }
}

Limbs negated(const Limbs& a) {
  Limbs out{~a[0], ~a[1], ~a[2]};
  add_limbs(out, Limbs{1, 0, 0});
  return out;
}

int bit_length(const Limbs& a) {
  for (int i = 2; i >= 0; --i)
    if (a[static_cast<size_t>(i)] != 0) return 64 * i + 64 - __builtin_clzll(a[static_cast<size_t>(i)]);
  return 0;
}

// Bits [from, from + 64) of a, and whether any bit below `from` is set.
uint64_t bits_from(const Limbs& a, int from, bool* sticky) {
  const auto limb = [&a](int i) { return i >= 0 && i < 3 ? a[static_cast<size_t>(i)] : 0; };
  const int word = from / 64, shift = from % 64;
  uint64_t out = limb(word) >> shift;
  if (shift != 0) out |= limb(word + 1) << (64 - shift);
  bool below = shift != 0 && (limb(word) & ((uint64_t{1} << shift) - 1)) != 0;
  for (int i = 0; i < word && !below; ++i) below = limb(i) != 0;
  *sticky = below;
  return out;
}

}  // namespace

bool ExactSum::add(double v) {
  if (!std::isfinite(v) || std::fabs(v) >= 0x1p80) return false;
  if (v == 0) return true;
  int exponent = 0;
  const double fraction = std::frexp(std::fabs(v), &exponent);  // |v| = fraction 2^exponent, fraction in [0.5, 1)
  const auto mantissa = static_cast<uint64_t>(std::ldexp(fraction, 53));  // exact: |v| = mantissa 2^(exponent - 53)
  const int shift = exponent - 53 + kFractionBits;                        // the fixed-point integer: mantissa 2^shift
  Limbs term{};
  if (shift >= 0) {
    const int bit = shift % 64;
    const auto word = static_cast<size_t>(shift / 64);  // shift < 80 + 96 - 53 + 1: the term fits in 192 bits
    term[word] = mantissa << bit;
    if (bit != 0 && word + 1 < term.size()) term[word + 1] = mantissa >> (64 - bit);
  } else if (shift > -64) {
    term[0] = mantissa >> -shift;  // truncated toward zero: below 2^-96
  }
  add_limbs(limbs_, v < 0 ? negated(term) : term);
  return true;
}

void ExactSum::add(const ExactSum& other) { add_limbs(limbs_, other.limbs_); }

double ExactSum::value() const {
  const bool negative = (limbs_[2] >> 63) != 0;
  const Limbs magnitude = negative ? negated(limbs_) : limbs_;
  const int bits = bit_length(magnitude);
  if (bits == 0) return 0.0;
  // The top 64 bits, with every bit below them folded into the lowest: the
  // conversion to 53 bits then rounds as the exact value would.
  const int from = bits > 64 ? bits - 64 : 0;
  bool sticky = false;
  const uint64_t top = bits_from(magnitude, from, &sticky) | (sticky ? 1 : 0);
  const double out = std::ldexp(static_cast<double>(top), from - kFractionBits);
  return negative ? -out : out;
}

std::string ExactSum::hex() const { return fmt::format("{:016x}{:016x}{:016x}", limbs_[2], limbs_[1], limbs_[0]); }

std::optional<ExactSum> ExactSum::parse(const std::string& hex) {
  if (hex.size() != 48 || hex.find_first_not_of("0123456789abcdef") != std::string::npos) return std::nullopt;
  ExactSum out;
  for (size_t i = 0; i < 3; ++i) {
    const std::optional<int64_t> high = parse_int(std::string_view(hex).substr(16 * i, 8), 16);
    const std::optional<int64_t> low = parse_int(std::string_view(hex).substr(16 * i + 8, 8), 16);
    if (!high || !low) return std::nullopt;
    out.limbs_[2 - i] = (static_cast<uint64_t>(*high) << 32) | static_cast<uint64_t>(*low);
  }
  return out;
}

}  // namespace assignscope
