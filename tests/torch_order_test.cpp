// match/torch_order: the order PyTorch's CPU topk and sort give equal keys,
// against what real torch returned (testdata/torch-order/cases.json, recorded
// with Debian's python3-torch by tools/make_torch_order_cases.py).
#include <doctest/doctest.h>

#include <cmath>
#include <limits>

#include <nlohmann/json.hpp>

#include "match/torch_order.h"
#include "test_support.h"

namespace assignscope {

TEST_CASE("torch order: topk and sort give equal keys the order real torch gives them on CPU") {
  const nlohmann::json j =
      nlohmann::json::parse(testing::read_text(testing::source_path("testdata/torch-order/cases.json")));
  std::vector<std::vector<float>> rows;
  for (const auto& r : j["rows"]) {
    std::vector<float> v;
    for (const auto& x : r["values"])
      v.push_back(x.is_null() ? std::numeric_limits<float>::quiet_NaN() : x.get<float>());
    rows.push_back(std::move(v));
  }
  int64_t topk = 0, sort = 0, differing_from_lowest_index = 0;
  for (const auto& c : j["cases"]) {
    const std::vector<float>& row = rows[c["row"].get<size_t>()];
    const std::vector<int32_t> want = c["indices"].get<std::vector<int32_t>>();
    CAPTURE(j["rows"][c["row"].get<size_t>()]["name"].get<std::string>());
    CAPTURE(c.dump());
    if (c["op"] == "topk") {
      ++topk;
      const std::vector<int32_t> got = match::torch_topk_cpu(row, c["k"].get<int64_t>(), c["largest"].get<bool>());
      CHECK(got == want);
      // The cases are worth having: a stable (lowest index first) order would get many wrong.
      std::vector<int32_t> stable(row.size());
      for (size_t i = 0; i < row.size(); ++i) stable[i] = static_cast<int32_t>(i);
      const bool largest = c["largest"].get<bool>();
      std::stable_sort(stable.begin(), stable.end(), [&](int32_t a, int32_t b) {
        const float x = row[a], y = row[b];
        if (std::isnan(x) || std::isnan(y))
          return std::isnan(x) && !std::isnan(y) ? largest : (!std::isnan(x) && !largest);
        return largest ? x > y : x < y;
      });
      stable.resize(want.size());
      differing_from_lowest_index += stable != want;
    } else {
      ++sort;
      CHECK(match::torch_sort_cpu(row, c["descending"].get<bool>()) == want);
    }
  }
  CHECK(topk >= 300);
  CHECK(sort >= 80);
  CHECK(differing_from_lowest_index > 50);
  MESSAGE("torch " << j["torch"].get<std::string>() << ": " << topk << " topk and " << sort << " sort cases, "
                   << differing_from_lowest_index << " where torch does not take equal keys lowest index first");
}

TEST_CASE("torch order: boundary ties") {
  const float v[] = {1, 2, 2, 3};
  CHECK(match::boundary_tie(v, 4, {0, 1}));
  CHECK_FALSE(match::boundary_tie(v, 4, {0, 1, 2}));
  CHECK_FALSE(match::boundary_tie(v, 4, {0}));
  CHECK_FALSE(match::boundary_tie(v, 4, {}));
}

}  // namespace assignscope
