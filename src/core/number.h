// Numbers as users write them (parameters, --fail-if thresholds, --tolerance
// rules, Python config literals, .npy type sizes): the whole text must be the
// number, nothing left over, nothing missing.
//
// One reader for every such place, so that "1e-3", "0x10" or " 2" mean the
// same everywhere; a caller says which values it takes (NumberCheck) and
// words its own error, with the flag or file it knows.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

namespace assignscope {

// All of `text` as an int64_t in `base` (std::from_chars: digits only, an
// optional '-' and no '+', no white space, no "0x" prefix); nullopt when
// empty, not all digits, or out of int64_t's range.
std::optional<int64_t> parse_int(std::string_view text, int base = 10);

enum class NumberCheck {
  kAny,            // any double strtod reads: inf, nan, overflow to inf, underflow to 0
  kFinite,         // a finite value; an underflow reads as the nearest double (as Python's float())
  kFiniteInRange,  // finite, and within double's range: underflow and overflow refused (as std::stod)
};

// All of `text` as a double, read as std::strtod reads it (leading white
// space, decimal and hexadecimal forms, "inf", "nan"); nullopt when empty,
// anything is left over, or the value fails `check`.
std::optional<double> parse_double(const std::string& text, NumberCheck check = NumberCheck::kAny);

}  // namespace assignscope
