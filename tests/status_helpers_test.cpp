// The error-handling helpers of core/: ASSIGNSCOPE_ASSIGN_OR_RETURN
// (core/status.h), guarded (core/guarded.h) and the one reader of numbers
// written as text (core/number.h), with the exact behaviour of each reader
// it replaced (std::stod, std::strtod, std::from_chars).
#include <cmath>
#include <limits>
#include <new>
#include <stdexcept>
#include <string>
#include <vector>

#include <doctest/doctest.h>

#include "core/guarded.h"
#include "core/number.h"
#include "core/status.h"

namespace assignscope {
namespace {

Result<int> half(int v) {
  if (v % 2 != 0) return Status::InvalidInput(std::to_string(v) + " is odd");
  return v / 2;
}

Result<int> quarter(int v) {
  ASSIGNSCOPE_ASSIGN_OR_RETURN(const int h, half(v));
  ASSIGNSCOPE_ASSIGN_OR_RETURN(int q, half(h));  // two in one scope: distinct temporaries
  return q;
}

Status quarter_into(int v, std::vector<int>* out) {
  int q = 0;
  ASSIGNSCOPE_ASSIGN_OR_RETURN(q, quarter(v));  // assigns an existing variable
  out->push_back(q);
  return Status();
}

TEST_CASE("status: ASSIGNSCOPE_ASSIGN_OR_RETURN declares or assigns, or returns the Status unchanged") {
  CHECK(*quarter(12) == 3);
  const Result<int> odd = quarter(6);
  REQUIRE(!odd.ok());
  CHECK(odd.status().kind() == ErrorKind::kInvalidInput);
  CHECK(odd.status().message() == "3 is odd");
  std::vector<int> out;
  CHECK(quarter_into(8, &out).ok());
  CHECK(quarter_into(2, &out).message() == "1 is odd");
  CHECK(out == std::vector<int>{2});
}

TEST_CASE("guarded: bad_alloc is an Io error naming the input, other exceptions internal, values pass through") {
  const auto ok = guarded("a.npy", "reading the array", []() -> Result<int> { return 7; });
  CHECK(*ok == 7);
  const auto no_memory = guarded("a.npy", "reading the array", []() -> Result<int> { throw std::bad_alloc(); });
  CHECK(no_memory.status().kind() == ErrorKind::kIo);
  CHECK(exit_code(no_memory.status()) == 2);
  CHECK(no_memory.status().message() == "a.npy: out of memory reading the array");
  const Status broken = guarded("d.npz", "loading the dump", []() -> Status { throw std::out_of_range("vector"); });
  CHECK(broken.kind() == ErrorKind::kInternal);
  CHECK(broken.message() == "d.npz: unexpected error loading the dump: vector");
}

TEST_CASE("number: parse_int reads all of the text as std::from_chars does") {
  CHECK(parse_int("42") == 42);
  CHECK(parse_int("-7") == -7);
  CHECK(parse_int("ff", 16) == 255);
  CHECK(parse_int("9223372036854775807") == std::numeric_limits<int64_t>::max());
  for (const char* bad : {"", "+1", " 1", "1 ", "1.0", "1e3", "0x10", "9223372036854775808", "-"}) {
    CAPTURE(bad);
    CHECK(!parse_int(bad));
  }
}

TEST_CASE("number: parse_double reads all of the text as strtod does, then applies the check") {
  CHECK(parse_double("0.5") == 0.5);
  CHECK(parse_double(" 2") == 2.0);  // leading white space, as strtod and std::stod
  CHECK(parse_double("1e-3") == 1e-3);
  CHECK(parse_double("0x10") == 16.0);
  for (const char* bad : {"", " ", "1 ", "1,5", "abc", "1e", "--1", "0.5%"}) {
    CAPTURE(bad);
    CHECK(!parse_double(bad));
    CHECK(!parse_double(bad, NumberCheck::kFinite));
    CHECK(!parse_double(bad, NumberCheck::kFiniteInRange));
  }
  // kAny: whatever strtod gives (parameters say themselves why inf or nan is refused).
  CHECK(std::isinf(*parse_double("inf")));
  CHECK(std::isnan(*parse_double("nan")));
  CHECK(std::isinf(*parse_double("1e400")));
  CHECK(*parse_double("1e-400") == 0.0);
  // kFinite: Python's float() (config literals): an underflow reads as 0.
  CHECK(!parse_double("inf", NumberCheck::kFinite));
  CHECK(!parse_double("nan", NumberCheck::kFinite));
  CHECK(!parse_double("1e400", NumberCheck::kFinite));
  CHECK(*parse_double("1e-400", NumberCheck::kFinite) == 0.0);
  // kFiniteInRange: std::stod plus std::isfinite (--fail-if, --tolerance).
  CHECK(!parse_double("1e-400", NumberCheck::kFiniteInRange));
  CHECK(!parse_double("1e400", NumberCheck::kFiniteInRange));
  CHECK(!parse_double("-inf", NumberCheck::kFiniteInRange));
  CHECK(parse_double("1e-300", NumberCheck::kFiniteInRange) == 1e-300);
  for (const char* text : {"0", "-0", "0.25", " 3", "1e-300", "1e300", "0x1p-3"}) {
    CAPTURE(text);
    size_t used = 0;
    const double stod = std::stod(text, &used);
    CHECK(used == std::string(text).size());
    CHECK(parse_double(text, NumberCheck::kFiniteInRange) == stod);
  }
}

}  // namespace
}  // namespace assignscope
