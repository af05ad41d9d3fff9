// --fail-if conditions (analysis/fail_condition.h): parsing, ranges,
// evaluation over a diff's totals. The command end to end is in diff_test.cpp.
#include <doctest/doctest.h>

#include <string>

#include "analysis/fail_condition.h"
#include "test_support.h"

namespace assignscope {

TEST_CASE("diff: --fail-if conditions parse, evaluate, and refuse unknown keys and operators") {
  analysis::DiffTotals t;
  t.priors = 100;
  t.same = 97;
  t.pos_to_neg = 2;
  t.neg_to_pos = 1;
  t.starved_one_side = 1;
  t.jaccard_min = 0.75;
  const auto holds = [&](const std::string& text) {
    auto c = analysis::parse_fail_condition(text);
    REQUIRE_MESSAGE(c.ok(), c.status().message());
    return analysis::evaluate({*c}, t)[0].holds;
  };
  CHECK(holds("agreement<0.99"));
  CHECK(holds("agreement < 99%"));
  CHECK_FALSE(holds("agreement<0.97"));
  CHECK(holds("agreement<=0.97"));
  CHECK(holds("flips>0"));
  CHECK(holds("flips==3"));
  CHECK_FALSE(holds("flips!=3"));
  CHECK(holds("pos-to-neg>=2"));
  CHECK_FALSE(holds("neg_to_pos>1"));  // underscores as dashes
  CHECK(holds("starved-one-side>0"));
  CHECK(holds("jaccard-min<0.8"));
  CHECK_FALSE(holds("changed-gt>0"));
  CHECK_FALSE(holds("ignored-changes>0"));
  CHECK(holds("jaccard-mean>=1"));  // no GTs counted: 1

  auto unknown = analysis::parse_fail_condition("agrement<0.9");
  testing::check_error(unknown.status(), ErrorKind::kUsage, "--fail-if agrement<0.9",
                       {"unknown key 'agrement'", "did you mean 'agreement'", "starved-one-side", "jaccard-min"});
  testing::check_error(analysis::parse_fail_condition("flips=>0").status(), ErrorKind::kUsage, "--fail-if",
                       {"unknown operator '=>'", "<="});
  testing::check_error(analysis::parse_fail_condition("flips").status(), ErrorKind::kUsage, "--fail-if",
                       {"no operator"});
  testing::check_error(analysis::parse_fail_condition("flips>many").status(), ErrorKind::kUsage, "--fail-if",
                       {"expected a number"});
  testing::check_error(analysis::parse_fail_condition("<3").status(), ErrorKind::kUsage, "--fail-if",
                       {"expected KEY OP NUMBER", "agreement"});

  // Keys named like the old ones, or near them, get a did-you-mean.
  testing::check_error(analysis::parse_fail_condition("positive-jaccard<0.9").status(), ErrorKind::kUsage,
                       "--fail-if positive-jaccard<0.9",
                       {"unknown key 'positive-jaccard'", "did you mean 'positives-jaccard'", "fractions in [0, 1]",
                        "counts >= 0"});
  // A threshold outside the key's range names the key and the range.
  testing::check_error(analysis::parse_fail_condition("agreement<99.9").status(), ErrorKind::kUsage,
                       "--fail-if agreement<99.9",
                       {"agreement is a fraction in [0, 1], and 99.9 is outside it", "agreement<99.9%",
                        "agreement<0.999"});
  testing::check_error(analysis::parse_fail_condition("positives-jaccard<-0.1").status(), ErrorKind::kUsage,
                       "--fail-if", {"positives-jaccard is a fraction in [0, 1], and -0.1 is outside it"});
  testing::check_error(analysis::parse_fail_condition("jaccard-min<150%").status(), ErrorKind::kUsage, "--fail-if",
                       {"jaccard-min is a fraction in [0, 1], and 150% is outside it"});
  testing::check_error(analysis::parse_fail_condition("flips>-1").status(), ErrorKind::kUsage, "--fail-if",
                       {"flips is a count >= 0, and -1 is outside it"});
  testing::check_error(analysis::parse_fail_condition("flips>5%").status(), ErrorKind::kUsage, "--fail-if",
                       {"flips is a count, not a fraction"});
  // Conditions no diff can meet, or every diff meets, are no gate.
  testing::check_error(analysis::parse_fail_condition("agreement<0").status(), ErrorKind::kUsage, "--fail-if",
                       {"can never hold"});
  testing::check_error(analysis::parse_fail_condition("jaccard-min<=1").status(), ErrorKind::kUsage, "--fail-if",
                       {"holds for every diff"});
  testing::check_error(analysis::parse_fail_condition("flips>=0").status(), ErrorKind::kUsage, "--fail-if",
                       {"holds for every diff"});
  // The ends themselves are thresholds.
  CHECK(analysis::parse_fail_condition("positives-jaccard<1").ok());
  CHECK(analysis::parse_fail_condition("agreement<100%").ok());
  CHECK(analysis::parse_fail_condition("flips>0").ok());
  // Every key has a value, fractions within [0, 1].
  for (const analysis::FailKey& k : analysis::fail_keys()) {
    CAPTURE(k.name);
    const double v = analysis::condition_value(k.name, t);
    CHECK(v >= 0);
    if (k.fraction) CHECK(v <= 1);
  }
}

}  // namespace assignscope
