// --fail-if: conditions over a diff's totals that make `assignscope diff`
// exit 1, e.g. "positives-jaccard<0.9", "flips>0" (docs/cli.md).
#pragma once

#include <string>
#include <vector>

#include "analysis/diff.h"
#include "core/status.h"

namespace assignscope::analysis {

// --fail-if conditions: KEY OP NUMBER, e.g. "positives-jaccard<0.9", "flips>0".
struct FailCondition {
  std::string text;  // as given
  std::string key;   // one of fail_condition_keys()
  std::string op;    // < <= > >= == !=
  double threshold = 0;
};
// A key, what it measures and its range: a fraction in [0, 1], or a count >= 0.
struct FailKey {
  std::string name;
  bool fraction = false;
  std::string help;
};
const std::vector<FailKey>& fail_keys();
const std::vector<std::string>& fail_condition_keys();
// "positives-jaccard<0.9", "starved-one-side > 0", "agreement<99%" (a
// percentage, fraction keys only). Usage errors name the valid keys with
// their ranges (a did-you-mean for a typo), the operators, and refuse a
// threshold outside the key's range or a condition that holds for every diff
// or for none ("agreement<99.9", "flips<0", "jaccard-min<=1").
Result<FailCondition> parse_fail_condition(const std::string& text);
double condition_value(const std::string& key, const DiffTotals& t);

// A gate over a diff in which neither side has a positive prior compares
// nothing and would pass whatever the assigners do: an error (kInvalidInput)
// naming what was empty.
Status check_comparable(const DiffTotals& t);

struct ConditionResult {
  FailCondition condition;
  double value = 0;  // the key's value for these totals
  bool holds = false;
};
std::vector<ConditionResult> evaluate(const std::vector<FailCondition>& conditions, const DiffTotals& t);

}  // namespace assignscope::analysis
