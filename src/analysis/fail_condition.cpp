// --fail-if conditions over a diff's totals: parsed, checked against the
// key's range, evaluated.
#include "analysis/fail_condition.h"

#include <algorithm>
#include <cctype>
#include <cmath>
#include <limits>

#include <fmt/format.h>

#include "core/number.h"
#include "core/suggest.h"
#include "core/text.h"

namespace assignscope::analysis {

const std::vector<FailKey>& fail_keys() {
  // The positive-set measures first: they are the ones that see a lost positive.
  static const std::vector<FailKey> keys = {
      {"positives-jaccard", true,
       "Jaccard of the (prior, GTs) positives of a and b: a prior counts as shared when positive for the same GTs on "
       "both"},
      {"positive-priors-jaccard", true, "Jaccard of the priors positive on a and on b, whatever their GTs"},
      {"jaccard-min", true, "the worst GT's Jaccard of its priors on a and b"},
      {"jaccard-mean", true, "the mean of the GTs' Jaccard"},
      {"agreement", true, "share of all priors assigned alike, negatives included"},
      {"starved-one-side", false, "GTs with positives on one side only"},
      {"starved-a-only", false, "GTs with positives on b, none on a"},
      {"starved-b-only", false, "GTs with positives on a, none on b"},
      {"positives-a", false, "positive priors on a"},
      {"positives-b", false, "positive priors on b"},
      {"flips", false, "priors assigned differently"},
      {"pos-to-neg", false, "priors positive on a only"},
      {"neg-to-pos", false, "priors positive on b only"},
      {"changed-gt", false, "priors positive on both, for different GTs"},
      {"ignored-changes", false, "priors negative on one side, ignored on the other"},
  };
  return keys;
}

const std::vector<std::string>& fail_condition_keys() {
  static const std::vector<std::string> names = [] {
    std::vector<std::string> v;
    for (const FailKey& k : fail_keys()) v.push_back(k.name);
    return v;
  }();
  return names;
}

double condition_value(const std::string& key, const DiffTotals& t) {
  if (key == "positives-jaccard") return t.positives_jaccard();
  if (key == "positive-priors-jaccard") return t.positive_priors_jaccard();
  if (key == "jaccard-min") return t.jaccard_min;
  if (key == "jaccard-mean") return t.jaccard_mean;
  if (key == "agreement") return t.agreement();
  if (key == "starved-one-side") return static_cast<double>(t.starved_one_side);
  if (key == "starved-a-only") return static_cast<double>(t.starved_a_only);
  if (key == "starved-b-only") return static_cast<double>(t.starved_b_only);
  if (key == "positives-a") return static_cast<double>(t.positives_a);
  if (key == "positives-b") return static_cast<double>(t.positives_b);
  if (key == "flips") return static_cast<double>(t.differing());
  if (key == "pos-to-neg") return static_cast<double>(t.pos_to_neg);
  if (key == "neg-to-pos") return static_cast<double>(t.neg_to_pos);
  if (key == "changed-gt") return static_cast<double>(t.changed_gt);
  if (key == "ignored-changes") return static_cast<double>(t.ignored_changes);
  return std::numeric_limits<double>::quiet_NaN();
}

namespace {

// "fractions in [0, 1]: positives-jaccard, ...; counts >= 0: starved-one-side, ..."
std::string keys_with_ranges() {
  std::string fractions, counts;
  for (const FailKey& k : fail_keys()) {
    std::string& list = k.fraction ? fractions : counts;
    list += (list.empty() ? "" : ", ") + k.name;
  }
  return "fractions in [0, 1]: " + fractions + "; counts >= 0: " + counts;
}

std::string number_text(double v) { return fmt::format("{:g}", v); }

}  // namespace

Result<FailCondition> parse_fail_condition(const std::string& text) {
  std::string s;
  for (char c : text)
    if (c != ' ' && c != '\t') s += c;
  const std::string shown = printable(text, 80);
  constexpr const char* kExample = "e.g. --fail-if 'positives-jaccard<0.9'";
  size_t pos = 0;
  while (pos < s.size() && (std::isalpha(static_cast<unsigned char>(s[pos])) || s[pos] == '-' || s[pos] == '_')) ++pos;
  FailCondition c;
  c.text = text;
  c.key = s.substr(0, pos);
  std::replace(c.key.begin(), c.key.end(), '_', '-');
  const auto& keys = fail_keys();
  const auto key = std::find_if(keys.begin(), keys.end(), [&](const FailKey& k) { return k.name == c.key; });
  if (key == keys.end())
    return Status::Usage(
        fmt::format("--fail-if {}: {}{}; keys: {} ({})", shown,
                    c.key.empty() ? "expected KEY OP NUMBER" : "unknown key '" + printable(c.key, 40) + "'",
                    c.key.empty() ? "" : did_you_mean(c.key, fail_condition_keys()), keys_with_ranges(), kExample));
  size_t op_end = pos;
  while (op_end < s.size() && (s[op_end] == '<' || s[op_end] == '>' || s[op_end] == '=' || s[op_end] == '!')) ++op_end;
  c.op = s.substr(pos, op_end - pos);
  static const std::vector<std::string> ops = {"<", "<=", ">", ">=", "==", "!="};
  if (std::find(ops.begin(), ops.end(), c.op) == ops.end())
    return Status::Usage(fmt::format("--fail-if {}: {}; expected one of < <= > >= == != between the key and a number",
                                     shown,
                                     c.op.empty() ? "no operator" : "unknown operator '" + printable(c.op, 20) + "'"));
  std::string number = s.substr(op_end);
  const bool percentage = !number.empty() && number.back() == '%';
  if (percentage) number.pop_back();
  const std::string range = key->fraction ? "a fraction in [0, 1]" : "a count >= 0";
  const std::optional<double> threshold = parse_double(number, NumberCheck::kFiniteInRange);
  if (!threshold)
    return Status::Usage(fmt::format("--fail-if {}: expected a number after '{}': {} is {}, e.g. {}{}{}", shown, c.op,
                                     c.key, range, c.key, c.op, key->fraction ? "0.9" : "0"));
  c.threshold = *threshold;
  if (percentage) {
    if (!key->fraction)
      return Status::Usage(
          fmt::format("--fail-if {}: {} is a count, not a fraction: give a number without '%'", shown, c.key));
    c.threshold /= 100.0;
  }
  const double lo = 0, hi = key->fraction ? 1.0 : std::numeric_limits<double>::infinity();
  if (c.threshold < lo || c.threshold > hi) {
    const bool looks_like_percent = key->fraction && !percentage && c.threshold > 1 && c.threshold <= 100;
    return Status::Usage(
        fmt::format("--fail-if {}: {} is {}, and {} is outside it{}", shown, c.key, range,
                    percentage ? number + "%" : number_text(c.threshold),
                    looks_like_percent
                        ? fmt::format("; a percentage is written with '%' ({}{}{}%) or as a fraction ({}{}{})", c.key,
                                      c.op, number, c.key, c.op, number_text(c.threshold / 100.0))
                        : ""));
  }
  // A condition that no value in the range, or every value, satisfies is a
  // gate that never fails, or always does.
  const bool never = (c.op == "<" && c.threshold == lo) || (c.op == ">" && c.threshold == hi);
  const bool always = (c.op == ">=" && c.threshold == lo) || (c.op == "<=" && c.threshold == hi);
  if (never || always)
    return Status::Usage(fmt::format("--fail-if {}: {}: {} is {}", shown,
                                     never ? "can never hold" : "holds for every diff", c.key, range));
  return c;
}

Status check_comparable(const DiffTotals& t) {
  if (t.positives_a > 0 || t.positives_b > 0) return Status();
  return Status::InvalidInput(fmt::format(
      "--fail-if: nothing to compare: neither side has a positive prior ({} image{}, {} prior{}, {} GT{}), so every "
      "condition would pass whatever the assigners do; diff dumps whose GTs get positives",
      t.images, t.images == 1 ? "" : "s", t.priors, t.priors == 1 ? "" : "s", t.gts, t.gts == 1 ? "" : "s"));
}

std::vector<ConditionResult> evaluate(const std::vector<FailCondition>& conditions, const DiffTotals& t) {
  std::vector<ConditionResult> out;
  for (const FailCondition& c : conditions) {
    ConditionResult r;
    r.condition = c;
    r.value = condition_value(c.key, t);
    const double v = r.value, x = c.threshold;
    r.holds = c.op == "<"    ? v < x
              : c.op == "<=" ? v <= x
              : c.op == ">"  ? v > x
              : c.op == ">=" ? v >= x
              : c.op == "==" ? v == x
                             : v != x;
    out.push_back(std::move(r));
  }
  return out;
}

}  // namespace assignscope::analysis
