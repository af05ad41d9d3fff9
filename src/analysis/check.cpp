// Replaying stored results and comparing them element by element.
#include "analysis/check.h"

#include <algorithm>
#include <cmath>
#include <filesystem>
#include <set>

#include <fmt/format.h>

#include "assign/assigner.h"
#include "io/dump.h"
#include "io/files.h"
#include "render/render.h"

namespace assignscope::analysis {
namespace fs = std::filesystem;

const char* verdict_name(Verdict v) {
  switch (v) {
    case Verdict::kMatch: return "ok";
    case Verdict::kDiffer: return "DIFFER";
    case Verdict::kSkipped: return "skip";
    case Verdict::kError: return "ERROR";
    case Verdict::kUpdated: return "UPDATED";
  }
  return "?";
}

namespace {

bool is_sentinel(double v) { return v == 0.0 || v == -1.0 || v == -100000.0 || v == -100000000.0; }

bool floats_agree(double expected, double got, const Tolerance& tol) {
  if (std::isnan(expected) || std::isnan(got)) return std::isnan(expected) && std::isnan(got);
  if (is_sentinel(expected) || is_sentinel(got)) return expected == got;
  return std::fabs(expected - got) <= tol.atol + tol.rtol * std::fabs(expected);
}

// Where element `flat` of a result file sits, in words: "prior 17",
// "image 2 prior 17", "gt 3"; other layouts as a numpy index "[4, 1]".
std::string element_name(const std::string& file, const std::vector<int64_t>& shape, int64_t flat) {
  std::vector<int64_t> idx(shape.size());
  for (size_t d = shape.size(); d-- > 0;) {
    const int64_t n = std::max<int64_t>(shape[d], 1);
    idx[d] = flat % n;
    flat /= n;
  }
  const bool per_prior = file == "assigned_gt_inds.npy" || file == "assigned_labels.npy" ||
                         file == "max_overlaps.npy" || file == "assign_metrics.npy" ||
                         file == "assign_metrics_raw.npy";
  const char* what = file == "dynamic_ks.npy" ? "gt" : per_prior ? "prior" : nullptr;
  if (what && idx.size() == 1) return fmt::format("{} {}", what, idx[0]);
  if (what && idx.size() == 2) return fmt::format("image {} {} {}", idx[0], what, idx[1]);
  std::string s = "element [";
  for (size_t d = 0; d < idx.size(); ++d) s += (d ? ", " : "") + std::to_string(idx[d]);
  return s + "]";
}

FileCheck compare_arrays(const std::string& file, const io::NpyArray& expected, const io::NpyArray& got,
                         const Tolerance& tol) {
  FileCheck fc;
  fc.file = file;
  fc.compared = true;
  if (expected.shape != got.shape) {
    fc.differing = std::max(expected.size(), got.size());
    fc.detail = fmt::format("shape {} expected, the replay has {}", io::shape_string(expected.shape),
                            io::shape_string(got.shape));
    return fc;
  }
  const bool exact = expected.dtype.kind != io::DTypeKind::kFloat;
  std::vector<std::string> firsts;
  for (int64_t i = 0; i < expected.size(); ++i) {
    bool same;
    std::string e, g;
    if (exact) {
      same = expected.to_int64(i) == got.to_int64(i);
      if (!same) e = std::to_string(expected.to_int64(i)), g = std::to_string(got.to_int64(i));
    } else {
      same = floats_agree(expected.to_double(i), got.to_double(i), tol);
      if (!same) e = fmt::format("{}", static_cast<float>(expected.to_double(i))),
                 g = fmt::format("{}", static_cast<float>(got.to_double(i)));
    }
    if (same) continue;
    ++fc.differing;
    if (firsts.size() < 3) firsts.push_back(fmt::format("{}: expected {}, got {}", element_name(file, expected.shape, i), e, g));
  }
  if (fc.differing) {
    fc.detail = fmt::format("{} of {} differ", fc.differing, expected.size());
    for (const std::string& f : firsts) fc.detail += "; " + f;
  }
  return fc;
}

}  // namespace

Tolerance default_tolerance(const std::string& file) {
  if (file == "transport_plan.npy") return {1e-3, 1e-6};
  return {};
}

Tolerance tolerance_for(const std::string& file, const CheckOptions& options) {
  const auto it = options.file_tolerance.find(file);
  if (it != options.file_tolerance.end()) return it->second;
  return options.tolerance.value_or(default_tolerance(file));
}

ResultCheck compare(const StoredResult& expected, const Batch& batch, const std::vector<Assignment>& replay,
                    const CheckOptions& options) {
  ResultCheck rc;
  rc.images = static_cast<int64_t>(replay.size());
  for (const Assignment& a : replay) rc.positives += a.num_positives();
  auto produced = render::npy_layout(batch, replay, "");
  if (!produced.ok()) {
    rc.verdict = Verdict::kError;
    rc.detail = produced.status().message();
    return rc;
  }
  std::map<std::string, io::NpyArray> mine;
  for (const io::NamedBytes& f : *produced) {
    if (f.name.size() < 4 || f.name.compare(f.name.size() - 4, 4, ".npy") != 0) continue;
    auto a = io::parse_npy(f.bytes.data(), f.bytes.size(), f.name);
    if (a.ok()) mine[f.name] = std::move(a).value();
  }
  // A result must pin the decisions (which prior goes to which GT), not only floats.
  const auto decides = [&](const char* f) { return expected.files.count(f) && mine.count(f); };
  if (!decides("assigned_gt_inds.npy") && !decides("matches.npy")) {
    rc.verdict = Verdict::kError;
    rc.detail = "the stored result lists neither assigned_gt_inds.npy nor matches.npy in params.json \"files\" "
                "(of those this assigner writes); nothing decisive to compare";
    return rc;
  }
  rc.verdict = Verdict::kMatch;
  for (const auto& [name, array] : expected.files) {
    auto it = mine.find(name);
    if (it == mine.end()) {
      FileCheck fc;
      fc.file = name;
      fc.detail = "not produced by this assigner in assignscope yet; not compared";
      rc.files.push_back(fc);
      continue;
    }
    FileCheck fc = compare_arrays(name, array, it->second, tolerance_for(name, options));
    if (fc.differing) {
      rc.verdict = Verdict::kDiffer;
      if (rc.detail.empty()) rc.detail = name + ": " + fc.detail;
    }
    rc.files.push_back(std::move(fc));
  }
  if (rc.verdict == Verdict::kDiffer) {
    // A difference where the replay noted a tie the reference's order decides
    // is worth saying next to it.
    for (size_t b = 0; b < replay.size(); ++b)
      if (!replay[b].notes.empty()) {
        rc.detail += fmt::format(" (the replay noted{}: {})", replay.size() > 1 ? " for image " + std::to_string(b) : "",
                                 replay[b].notes[0]);
        break;
      }
  }
  if (rc.verdict == Verdict::kDiffer && options.update) {
    for (const io::NamedBytes& f : *produced) {
      if (!expected.files.count(f.name)) continue;  // only what the stored result holds
      const Status st = io::write_file_atomic((fs::path(expected.dir) / f.name).string(), f.bytes.data(),
                                              f.bytes.size(), true);
      if (!st.ok()) {
        rc.verdict = Verdict::kError;
        rc.detail = "--update: " + st.message();
        return rc;
      }
    }
    rc.verdict = Verdict::kUpdated;
  }
  return rc;
}

Result<StoredResult> read_stored(const std::string& dir) {
  StoredResult r;
  r.dir = dir;
  const std::string params_path = (fs::path(dir) / "params.json").string();
  auto text = io::read_file_text(params_path);
  if (!text.ok()) return text.status();
  r.params = nlohmann::json::parse(*text, nullptr, false);
  if (r.params.is_discarded() || !r.params.is_object())
    return Status::Corrupt(params_path + ": not a JSON object");
  if (!r.params.contains("assigner") || !r.params["assigner"].is_string())
    return Status::InvalidInput(params_path + ": no \"assigner\" string naming what to replay");
  std::vector<std::string> names;
  if (r.params.contains("files")) {
    if (!r.params["files"].is_array()) return Status::InvalidInput(params_path + ": \"files\" is not a list");
    for (const auto& f : r.params["files"]) {
      if (!f.is_string()) return Status::InvalidInput(params_path + ": \"files\" holds a non-string");
      names.push_back(f.get<std::string>());
    }
  } else {
    std::error_code ec;
    for (const auto& e : fs::directory_iterator(dir, ec))
      if (e.path().extension() == ".npy") names.push_back(e.path().filename().string());
    std::sort(names.begin(), names.end());
  }
  for (const std::string& name : names) {
    if (name.find('/') != std::string::npos || name.find("..") != std::string::npos)
      return Status::InvalidInput(fmt::format("{}: file name '{}' leaves the result directory", params_path, name));
    auto a = io::read_npy_file((fs::path(dir) / name).string());
    if (!a.ok()) return a.status();
    r.files[name] = std::move(a).value();
  }
  return r;
}

namespace {

ResultCheck replay_one(const std::string& case_name, const std::string& label, const std::string& result_dir,
                       const Result<io::LoadedDump>& dump, const CheckOptions& options) {
  ResultCheck rc;
  rc.case_name = case_name;
  rc.label = label;
  auto fail = [&](const Status& st) {
    rc.verdict = Verdict::kError;
    rc.detail = st.message();
    return rc;
  };
  auto stored = read_stored(result_dir);
  if (!stored.ok()) return fail(stored.status());
  // A head's loss under its assignment (golden LOSSES.md): it holds the
  // assignment too, but is never counted as matched on that alone.
  if (stored->params.contains("loss") && stored->params["loss"].is_string()) {
    rc.assigner = stored->params["loss"].get<std::string>();
    rc.verdict = Verdict::kSkipped;
    rc.detail = fmt::format("assignscope has no head loss '{}' to replay yet", rc.assigner);
    return rc;
  }
  rc.assigner = stored->params["assigner"].get<std::string>();
  const assign::AssignerInfo* info = assign::find_assigner(rc.assigner);
  if (!info) {
    rc.verdict = Verdict::kSkipped;
    rc.detail = fmt::format("assignscope has no assigner '{}'", rc.assigner);
    return rc;
  }
  if (!dump.ok()) return fail(dump.status());
  Params params = assign::default_params(*info);
  if (stored->params.contains("params")) {
    const Status st = params.set_all(stored->params["params"]);
    if (!st.ok()) return fail(st.WithContext(result_dir + "/params.json"));
  }
  if (const Status st = assign::validate_params(*info, params, nullptr); !st.ok())
    return fail(st.WithContext(result_dir + "/params.json"));
  auto replay = assign::assign_batch(*info, params, dump->batch);
  if (!replay.ok()) return fail(replay.status());
  ResultCheck compared = compare(*stored, dump->batch, *replay, options);
  compared.case_name = rc.case_name;
  compared.label = rc.label;
  compared.assigner = rc.assigner;
  return compared;
}

bool is_case(const fs::path& p) {
  std::error_code ec;
  return fs::is_directory(p / "expected", ec);
}

bool is_result_dir(const fs::path& p) {
  std::error_code ec;
  return fs::is_regular_file(p / "params.json", ec);
}

}  // namespace

Result<std::vector<ResultCheck>> check_path(const std::string& path, const CheckOptions& options) {
  std::vector<ResultCheck> out;
  io::LoadOptions load;
  load.allow_nonfinite = options.allow_nonfinite;
  const fs::path p(path);
  std::error_code ec;
  if (is_case(p)) {
    const auto dump = io::load_dump(path, load);
    std::vector<fs::path> labels;
    for (const auto& e : fs::directory_iterator(p / "expected", ec))
      if (e.is_directory() && e.path().filename().string()[0] != '.') labels.push_back(e.path());
    std::sort(labels.begin(), labels.end());
    if (labels.empty()) return Status::InvalidInput(fmt::format("{}: expected/ holds no result directories", path));
    for (const fs::path& l : labels) out.push_back(replay_one(path, l.filename().string(), l.string(), dump, options));
    return out;
  }
  if (is_result_dir(p)) {
    // A result written by `assignscope run --format npy`: its params.json names the dump.
    auto text = io::read_file_text((p / "params.json").string());
    if (!text.ok()) return text.status();
    const nlohmann::json j = nlohmann::json::parse(*text, nullptr, false);
    if (j.is_discarded() || !j.is_object() || !j.contains("source") || !j["source"].is_string())
      return Status::InvalidInput(fmt::format(
          "{}/params.json: no \"source\" naming the dump to replay; put the result in <dump>/expected/<label>/ "
          "and check the dump directory instead",
          path));
    // Written absolute; a relative source is taken from here or from the result.
    fs::path source = j["source"].get<std::string>();
    if (source.is_relative() && !fs::exists(source, ec) && fs::exists(p / source, ec)) source = p / source;
    const auto dump = io::load_dump(source.string(), load);
    out.push_back(replay_one(path, p.filename().string(), path, dump, options));
    return out;
  }
  return Status::InvalidInput(fmt::format(
      "{}: not a case (a dump with an expected/ folder) nor a result directory (with params.json)", path));
}

Result<std::vector<std::string>> find_checkable(const std::vector<std::string>& patterns) {
  auto paths = io::expand_paths(patterns);
  if (!paths.ok()) return paths.status();
  std::vector<std::string> found;
  for (const std::string& path : *paths) {
    const fs::path p(path);
    std::error_code ec;
    if (!fs::exists(p, ec)) return Status::Io(path + ": no such file or directory");
    if (is_case(p) || is_result_dir(p)) {
      found.push_back(path);
      continue;
    }
    std::vector<std::string> inside;
    for (const auto& e : fs::directory_iterator(p, ec))
      if (e.is_directory() && (is_case(e.path()) || is_result_dir(e.path()))) inside.push_back(e.path().string());
    if (inside.empty())
      return Status::InvalidInput(fmt::format(
          "{}: holds no case (a dump with an expected/ folder) or result directory (with params.json)", path));
    std::sort(inside.begin(), inside.end());
    found.insert(found.end(), inside.begin(), inside.end());
  }
  return found;
}

CheckTotals totals(const std::vector<ResultCheck>& results) {
  CheckTotals t;
  std::set<std::string> skipped;
  for (const ResultCheck& r : results) {
    switch (r.verdict) {
      case Verdict::kMatch: ++t.match; break;
      case Verdict::kDiffer: ++t.differ; break;
      case Verdict::kSkipped: ++t.skipped, skipped.insert(r.assigner); break;
      case Verdict::kError: ++t.errors; break;
      case Verdict::kUpdated: ++t.updated; break;
    }
  }
  t.skipped_assigners.assign(skipped.begin(), skipped.end());
  return t;
}

}  // namespace assignscope::analysis
