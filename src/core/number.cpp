// The one reader of numbers written as text (core/number.h).
#include "core/number.h"

#include <cerrno>
#include <charconv>
#include <cmath>
#include <cstdlib>
#include <system_error>

namespace assignscope {

std::optional<int64_t> parse_int(std::string_view text, int base) {
  if (text.empty()) return std::nullopt;
  int64_t value = 0;
  const char* end = text.data() + text.size();
  const auto [stop, ec] = std::from_chars(text.data(), end, value, base);
  if (ec != std::errc() || stop != end) return std::nullopt;
  return value;
}

std::optional<double> parse_double(const std::string& text, NumberCheck check) {
  if (text.empty()) return std::nullopt;
  char* end = nullptr;
  errno = 0;
  const double value = std::strtod(text.c_str(), &end);
  const bool range_error = errno == ERANGE;
  if (end != text.c_str() + text.size()) return std::nullopt;
  switch (check) {
    case NumberCheck::kAny: break;
    case NumberCheck::kFinite:
      if (!std::isfinite(value)) return std::nullopt;
      break;
    case NumberCheck::kFiniteInRange:
      if (!std::isfinite(value) || range_error) return std::nullopt;
      break;
  }
  return value;
}

}  // namespace assignscope
