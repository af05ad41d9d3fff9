// The stored-result layout: its writer (npy_layout, rewrite_result) and its
// readers (read_stored for check, read_replay for diff).
#include "io/result_layout.h"

#include <fcntl.h>  // AT_FDCWD, renameat2
#include <sys/stat.h>

#include <algorithm>
#include <cerrno>
#include <cmath>
#include <cstring>
#include <filesystem>
#include <limits>
#include <random>
#include <set>
#include <string_view>
#include <tuple>

#include <fmt/format.h>

#include "assignscope/version.h"
#include "core/text.h"

namespace assignscope::io {
namespace fs = std::filesystem;

// ---------------------------------------------------------------------------
// Writing.

namespace {

// Stacks one per-image float array of `per_image` elements; its shape per
// image is `shape`.
template <class Get>
NamedBytes stacked_floats(const char* name, const Batch& batch, const std::vector<Assignment>& results,
                          std::vector<int64_t> shape, const Get& get) {
  std::vector<float> all;
  for (const Assignment& a : results) {
    const std::vector<float>& v = *get(a);
    all.insert(all.end(), v.begin(), v.end());
  }
  if (batch.is_batch) shape.insert(shape.begin(), static_cast<int64_t>(results.size()));
  return {name, npy_bytes(all.data(), shape)};
}

// `path` as params.json records it: relative to `result_dir` (both made
// absolute and normalised lexically, as `check` resolves them), or absolute
// without a result directory.
std::string recorded_path(const std::string& path, const std::string& result_dir) {
  std::error_code ec;
  const auto trimmed = [](fs::path p) {  // "dump/" names "dump"
    while (!p.has_filename() && p.has_parent_path() && p != p.root_path()) p = p.parent_path();
    return p;
  };
  const fs::path target = trimmed(fs::absolute(path, ec).lexically_normal());
  if (ec) return path;
  if (result_dir.empty()) return target.string();
  const fs::path base = trimmed(fs::absolute(result_dir, ec).lexically_normal());
  if (ec) return target.string();
  fs::path rel = target.lexically_relative(base);
  if (rel.empty()) return target.string();
  return rel.string();
}

}  // namespace

namespace {

// The per-prior files: [N], or [B, N] for a batch ([.., 4] for boxes).
std::vector<NamedBytes> per_prior_files(const Batch& batch, const std::vector<Assignment>& results) {
  const int64_t n = results[0].num_priors();
  const auto num_images = static_cast<int64_t>(results.size());
  const Assignment& first = results[0];
  std::vector<int64_t> prior_shape = batch.is_batch ? std::vector<int64_t>{num_images, n} : std::vector<int64_t>{n};

  std::vector<int64_t> gt_inds, labels;
  for (const Assignment& a : results) {
    gt_inds.insert(gt_inds.end(), a.gt_inds.begin(), a.gt_inds.end());
    labels.insert(labels.end(), a.labels.begin(), a.labels.end());
  }
  std::vector<NamedBytes> files;
  files.push_back({"assigned_gt_inds.npy", npy_bytes(gt_inds.data(), prior_shape)});
  files.push_back({"assigned_labels.npy", npy_bytes(labels.data(), prior_shape)});
  if (!first.max_overlaps.empty() || n == 0)
    files.push_back(
        stacked_floats("max_overlaps.npy", batch, results, {n}, [](const Assignment& a) { return &a.max_overlaps; }));
  if (first.assign_metrics)
    files.push_back(stacked_floats("assign_metrics.npy", batch, results, {n},
                                   [](const Assignment& a) { return &*a.assign_metrics; }));
  if (first.assign_metrics_raw)
    files.push_back(stacked_floats("assign_metrics_raw.npy", batch, results, {n},
                                   [](const Assignment& a) { return &*a.assign_metrics_raw; }));
  if (first.bbox_targets)
    files.push_back(stacked_floats("bbox_targets.npy", batch, results, {n, 4},
                                   [](const Assignment& a) { return &*a.bbox_targets; }));
  if (first.soft_labels)
    files.push_back(
        stacked_floats("soft_labels.npy", batch, results, {n}, [](const Assignment& a) { return &*a.soft_labels; }));
  if (first.soft_weights)
    files.push_back(
        stacked_floats("soft_weights.npy", batch, results, {n}, [](const Assignment& a) { return &*a.soft_weights; }));
  return files;
}

// Rows of one image's per-match or per-candidate file, stacked for a batch
// as [B, max rows, width], short images padded with `fill`.
template <class T>
NamedBytes padded_rows(const char* name, const Batch& batch, const std::vector<std::vector<T>>& per_image,
                       int64_t width, T fill) {
  size_t most = 0;
  for (const auto& rows : per_image) most = std::max(most, rows.size() / static_cast<size_t>(width));
  if (!batch.is_batch) {
    std::vector<int64_t> shape = {static_cast<int64_t>(most)};
    if (width > 1) shape.push_back(width);
    return {name, npy_bytes(per_image[0].data(), shape)};
  }
  std::vector<T> all;
  for (const auto& rows : per_image) {
    all.insert(all.end(), rows.begin(), rows.end());
    all.resize(all.size() + most * static_cast<size_t>(width) - rows.size(), fill);
  }
  std::vector<int64_t> shape = {static_cast<int64_t>(per_image.size()), static_cast<int64_t>(most)};
  if (width > 1) shape.push_back(width);
  return {name, npy_bytes(all.data(), shape)};
}

// matches with per-match IoUs (yolov7): matches [M, 2] sorted by (prior, gt)
// with duplicates kept, match_ious [M] aligned with them, candidate_priors
// [K] sorted; for a batch [B, Mmax, 2] padded with (-1, -1), [B, Mmax]
// padded with 0.0 and [B, Kmax] padded with -1 (golden NEW-ASSIGNERS.md).
void add_match_files(const Batch& batch, const std::vector<Assignment>& results, std::vector<NamedBytes>* out) {
  std::vector<std::vector<int64_t>> matches, candidates;
  std::vector<std::vector<float>> ious;
  for (const Assignment& a : results) {
    const std::vector<Match>& m = *a.matches;
    std::vector<size_t> order(m.size());
    for (size_t r = 0; r < order.size(); ++r) order[r] = r;
    const auto iou = [&](size_t r) { return r < a.match_ious->size() ? (*a.match_ious)[r] : 0.0f; };
    std::sort(order.begin(), order.end(), [&](size_t x, size_t y) {
      return std::tie(m[x].prior, m[x].gt) < std::tie(m[y].prior, m[y].gt) || (m[x] == m[y] && iou(x) < iou(y));
    });
    std::vector<int64_t>& rows = matches.emplace_back();
    std::vector<float>& values = ious.emplace_back();
    for (size_t r : order) {
      rows.push_back(m[r].prior), rows.push_back(m[r].gt);
      values.push_back(iou(r));
    }
    std::vector<int64_t>& priors =
        candidates.emplace_back(a.candidate_priors ? *a.candidate_priors : std::vector<int64_t>{});
    std::sort(priors.begin(), priors.end());
  }
  out->push_back(padded_rows<int64_t>("matches.npy", batch, matches, 2, -1));
  out->push_back(padded_rows<float>("match_ious.npy", batch, ious, 1, 0.0f));
  out->push_back(padded_rows<int64_t>("candidate_priors.npy", batch, candidates, 1, -1));
}

// The per-GT files (dynamic_ks, transport_plan, matches), padded to the
// batch's GT columns, appended to `out`.
void add_per_gt_files(const Batch& batch, const std::vector<Assignment>& results, std::vector<NamedBytes>* out) {
  std::vector<NamedBytes>& files = *out;
  const int64_t n = results[0].num_priors();
  const auto num_images = static_cast<int64_t>(results.size());
  const Assignment& first = results[0];
  const int64_t columns = batch.is_batch ? batch.gt_columns : batch.images[0].num_gts();
  if (first.dynamic_ks) {
    const int64_t width = batch.is_batch ? columns : static_cast<int64_t>(first.dynamic_ks->size());
    std::vector<int64_t> ks;
    for (const Assignment& a : results) {
      std::vector<int64_t> row(static_cast<size_t>(width), 0);
      std::copy_n(a.dynamic_ks->begin(), std::min<int64_t>(width, static_cast<int64_t>(a.dynamic_ks->size())),
                  row.begin());
      ks.insert(ks.end(), row.begin(), row.end());
    }
    const std::vector<int64_t> shape =
        batch.is_batch ? std::vector<int64_t>{num_images, width} : std::vector<int64_t>{width};
    files.push_back({"dynamic_ks.npy", npy_bytes(ks.data(), shape)});
  }
  if (first.transport_plan) {
    std::vector<float> plan;
    for (size_t b = 0; b < results.size(); ++b) {
      const int64_t own = batch.images[b].num_gts();
      const std::vector<float>& p = *results[b].transport_plan;
      std::vector<float> rows(static_cast<size_t>((columns + 1) * n), 0.0f);
      std::copy(p.begin(), p.begin() + own * n, rows.begin());
      std::copy(p.begin() + own * n, p.end(), rows.begin() + columns * n);
      plan.insert(plan.end(), rows.begin(), rows.end());
    }
    const std::vector<int64_t> shape =
        batch.is_batch ? std::vector<int64_t>{num_images, columns + 1, n} : std::vector<int64_t>{columns + 1, n};
    files.push_back({"transport_plan.npy", npy_bytes(plan.data(), shape)});
  }
  if (first.matches && first.match_ious) {
    add_match_files(batch, results, out);
  } else if (first.matches) {
    std::vector<int64_t> rows;
    for (size_t b = 0; b < results.size(); ++b) {
      for (const Match& m : *results[b].matches) {
        if (batch.is_batch) rows.push_back(static_cast<int64_t>(b));
        rows.push_back(m.prior);
        rows.push_back(m.gt);
      }
    }
    const int64_t width = batch.is_batch ? 3 : 2;
    files.push_back({"matches.npy", npy_bytes(rows.data(), {static_cast<int64_t>(rows.size()) / width, width})});
  }
}

// params.json: what was replayed, the files, and the dumps (relative to the
// result directory).
Result<NamedBytes> params_file(const Batch& batch, const std::vector<Assignment>& results, const std::string& reference,
                               const NpyProvenance& where, const std::vector<NamedBytes>& files) {
  const Assignment& first = results[0];
  nlohmann::ordered_json params;
  params["assigner"] = first.assigner;
  params["params"] = first.params.to_json();
  params["reference"] = reference;
  nlohmann::ordered_json names = nlohmann::ordered_json::array();
  for (const NamedBytes& f : files) names.push_back(f.name);
  params["files"] = names;
  params["produced_by"] = fmt::format("assignscope {}", ASSIGNSCOPE_VERSION);
  // The dumps, relative to the result directory: a suite copied to another
  // checkout or CI runner replays its own dumps, never the ones at the old
  // absolute path. Several dumps are a list (never the "2 dumps" label).
  const std::vector<std::string> dumps = where.dumps.empty() ? std::vector<std::string>{batch.source} : where.dumps;
  if (dumps.size() > kMaxSources)
    return Status::InvalidInput(
        fmt::format("{} dumps: a result of the npy format records at most {} (assignscope "
                    "check replays no more); run fewer at once",
                    dumps.size(), kMaxSources));
  nlohmann::ordered_json recorded = nlohmann::ordered_json::array();
  for (const std::string& d : dumps) recorded.push_back(recorded_path(d, where.result_dir));
  if (recorded.size() == 1) params["source"] = recorded[0];
  else params["sources"] = recorded;
  if (batch.is_batch) {
    nlohmann::ordered_json image_names = nlohmann::ordered_json::array();
    for (const Problem& p : batch.images) image_names.push_back(p.name);
    params["images"] = image_names;
  }
  const std::string text = json_text(params) + "\n";  // a path that is not UTF-8: U+FFFD, not a throw
  return NamedBytes{"params.json", std::vector<unsigned char>(text.begin(), text.end())};
}

// notes.json: what the replay remarked (early returns, ties left to torch's
// order) and warned (NaN the reference would have), per image, so a CI user
// sees it.
NamedBytes notes_file(const Batch& batch, const std::vector<Assignment>& results) {
  nlohmann::ordered_json notes;
  notes["images"] = nlohmann::ordered_json::array();
  for (size_t b = 0; b < results.size(); ++b) {
    nlohmann::ordered_json image;
    image["image"] = batch.images[b].name;
    image["notes"] = results[b].notes;
    image["warnings"] = results[b].warnings;
    notes["images"].push_back(std::move(image));
  }
  const std::string notes_text = json_text(notes) + "\n";
  return {"notes.json", std::vector<unsigned char>(notes_text.begin(), notes_text.end())};
}

}  // namespace

Result<std::vector<NamedBytes>> npy_layout(const Batch& batch, const std::vector<Assignment>& results,
                                           const std::string& reference, const NpyProvenance& where) {
  if (results.empty()) return Status::Internal("npy_layout: no results");
  const int64_t n = results[0].num_priors();
  for (size_t b = 1; b < results.size(); ++b) {
    if (results[b].num_priors() != n)
      return Status::InvalidInput(fmt::format(
          "{}: images have different numbers of priors ({} has {}, {} has {}); the npy layout stacks them as [B, N]",
          batch.source, batch.images[0].name, n, batch.images[b].name, results[b].num_priors()));
  }
  std::vector<NamedBytes> files = per_prior_files(batch, results);
  add_per_gt_files(batch, results, &files);
  ASSIGNSCOPE_ASSIGN_OR_RETURN(auto params, params_file(batch, results, reference, where, files));
  files.push_back(std::move(params));
  files.push_back(notes_file(batch, results));
  return files;
}

namespace {

std::string random_suffix() {
  std::random_device rd;
  return std::to_string(rd());
}

}  // namespace

Status rewrite_result(const std::string& dir, const std::vector<NamedBytes>& changed) {
  std::error_code ec;
  const fs::path target = fs::canonical(dir, ec);
  if (ec) return Status::Io(fmt::format("{}: cannot resolve the result directory: {}", dir, ec.message()));
  const fs::path parent = target.parent_path();
  const fs::path staging = parent / (".assignscope-" + random_suffix() + ".update");
  const auto abandon = [&](const std::string& why) {
    std::error_code ignored;
    fs::remove_all(staging, ignored);
    return Status::Io(fmt::format("{}: not updated, the stored result is unchanged: {}", dir, why));
  };
  if (!fs::create_directory(staging, ec) || ec)
    return Status::Io(
        fmt::format("{}: not updated, the stored result is unchanged: cannot create a directory "
                    "beside it: {}",
                    dir, ec ? ec.message() : "it exists"));
  std::set<std::string> replaced;
  for (const NamedBytes& f : changed) {
    const Status st = write_file_atomic((staging / f.name).string(), f.bytes.data(), f.bytes.size(), false);
    if (!st.ok()) return abandon(st.message());
    replaced.insert(f.name);
  }
  fs::directory_iterator it(target, ec);
  if (ec) return abandon(ec.message());
  for (; it != fs::directory_iterator(); it.increment(ec)) {
    if (ec) return abandon(ec.message());
    const std::string name = it->path().filename().string();
    if (replaced.count(name)) continue;
    fs::copy(it->path(), staging / name, fs::copy_options::recursive | fs::copy_options::copy_symlinks, ec);
    if (ec) return abandon(fmt::format("copying {}: {}", name, ec.message()));
  }
  if (ec) return abandon(ec.message());
  const fs::file_status old_status = fs::status(target, ec);
  if (!ec) fs::permissions(staging, old_status.permissions(), ec);
  if (ec) return abandon(ec.message());
  if (::renameat2(AT_FDCWD, staging.c_str(), AT_FDCWD, target.c_str(), RENAME_EXCHANGE) == 0) {
    fs::permissions(staging, fs::perms::owner_all, fs::perm_options::add, ec);  // now the old result
    fs::remove_all(staging, ec);
    return Status();
  }
  if (errno != EINVAL && errno != ENOSYS) return abandon(std::strerror(errno));
  const fs::path backup = parent / (".assignscope-" + random_suffix() + ".old");
  fs::rename(target, backup, ec);
  if (ec) return abandon("cannot move it aside: " + ec.message());
  fs::rename(staging, target, ec);
  if (ec) {
    const std::string why = ec.message();
    fs::rename(backup, target, ec);
    return abandon("cannot move the new one into place: " + why);
  }
  fs::permissions(backup, fs::perms::owner_all, fs::perm_options::add, ec);
  fs::remove_all(backup, ec);
  return Status();
}

// ---------------------------------------------------------------------------
// Reading, for `check`.

Result<StoredResult> read_stored(const std::string& dir) {
  StoredResult r;
  r.dir = dir;
  const std::string params_path = (fs::path(dir) / "params.json").string();
  ASSIGNSCOPE_ASSIGN_OR_RETURN(auto text, read_file_text(params_path));
  r.params = nlohmann::json::parse(text, nullptr, false);
  if (r.params.is_discarded() || !r.params.is_object()) return Status::Corrupt(params_path + ": not a JSON object");
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
    fs::directory_iterator it(dir, ec);
    for (; !ec && it != fs::directory_iterator(); it.increment(ec))
      if (it->path().extension() == ".npy") names.push_back(it->path().filename().string());
    if (ec) return Status::Io(fmt::format("{}: cannot list the result directory: {}", dir, ec.message()));
    std::sort(names.begin(), names.end());
  }
  for (const std::string& name : names) {
    if (name.empty() || name == "." || name.find('/') != std::string::npos || name.find("..") != std::string::npos)
      return Status::InvalidInput(fmt::format("{}: file name '{}' leaves the result directory", params_path, name));
    // A FIFO or device would block the read or never end.
    const std::string file = (fs::path(dir) / name).string();
    struct stat st {};
    if (::stat(file.c_str(), &st) != 0)
      return Status::Io(fmt::format("{}: cannot read it: {}", file, std::strerror(errno)));
    if (!S_ISREG(st.st_mode))
      return Status::InvalidInput(fmt::format("{}: not a regular file; expected a .npy file", file));
    ASSIGNSCOPE_ASSIGN_OR_RETURN(auto a, read_npy_file(file));
    r.files[name] = std::move(a);
  }
  return r;
}

namespace {

// The label an older `run` recorded for several dumps: "<digits> dumps".
bool is_several_dumps_label(std::string_view s) {
  constexpr std::string_view kSuffix = " dumps";
  if (s.size() <= kSuffix.size() || s.substr(s.size() - kSuffix.size()) != kSuffix) return false;
  const std::string_view digits = s.substr(0, s.size() - kSuffix.size());
  return std::all_of(digits.begin(), digits.end(), [](char c) { return c >= '0' && c <= '9'; });
}

}  // namespace

// The dumps a result directory's params.json names: "sources" (a list) or
// "source", each relative to the result directory unless absolute. An
// error says what is wrong with params.json or the path.
Result<NamedDumps> named_dumps(const std::string& result_dir, const nlohmann::json& j) {
  const std::string where = (fs::path(result_dir) / "params.json").string();
  std::vector<std::string> recorded;
  if (j.contains("sources")) {
    if (!j["sources"].is_array() || j["sources"].empty())
      return Status::InvalidInput(where + ": \"sources\" is not a non-empty list of dump paths");
    if (j["sources"].size() > kMaxSources)
      return Status::InvalidInput(
          fmt::format("{}: \"sources\" lists {} dumps; expected at most {}", where, j["sources"].size(), kMaxSources));
    for (const auto& v : j["sources"]) {
      if (!v.is_string() || v.get<std::string>().empty())
        return Status::InvalidInput(where + ": \"sources\" holds " + json_snippet(v) + ", not a dump path");
      recorded.push_back(v.get<std::string>());
    }
  } else if (j.contains("source") && j["source"].is_string() && !j["source"].get<std::string>().empty()) {
    recorded.push_back(j["source"].get<std::string>());
  } else {
    return Status::InvalidInput(where +
                                ": no \"source\" naming the dump to replay; put the result in <dump>/expected/<label>/ "
                                "and check the dump directory instead");
  }
  std::error_code ec;
  const fs::path base = fs::absolute(result_dir, ec).lexically_normal();
  if (ec) return Status::Io(fmt::format("{}: cannot resolve the directory: {}", result_dir, ec.message()));
  NamedDumps out;
  for (const std::string& r : recorded) {
    const fs::path p(r);
    const fs::path resolved = p.is_absolute() ? p.lexically_normal() : (base / p).lexically_normal();
    const fs::path shown = p.is_absolute() ? p : (fs::path(result_dir) / p).lexically_normal();
    struct stat st {};
    if (::stat(resolved.c_str(), &st) != 0) {
      if (recorded.size() == 1 && is_several_dumps_label(r))
        return Status::InvalidInput(fmt::format(
            "{}: \"source\" is '{}', the label an older `assignscope run` recorded for several dumps, not a path; "
            "run it again to record their paths in \"sources\"",
            where, r));
      return Status::Io(fmt::format("{}: the dump '{}' ({}) cannot be read: {}{}", where, r, resolved.string(),
                                    std::strerror(errno),
                                    p.is_absolute() ? "" : " (a relative path is taken from the result directory)"));
    }
    out.shown.push_back(shown.string());
    out.resolved.push_back(resolved.string());
  }
  return out;
}

// ---------------------------------------------------------------------------
// Reading, for `diff`.

namespace {

constexpr int64_t kMaxGtIndex = std::numeric_limits<int32_t>::max();

Status not_a_result(const std::string& path, const std::string& why) {
  return Status::InvalidInput(fmt::format(
      "{}: not a result ({}); diff reads a result directory written by `assignscope run --format npy` "
      "(params.json, assigned_gt_inds.npy) or a JSON written by `assignscope run --format json --include priors`",
      path, why));
}

// matches.npy: [M, 2], or for a batch [M, 3] (image, prior, gt) or yolov7's
// [B, Mmax, 2] padded with (-1, -1) rows; with yolov7's match_ious.npy and
// candidate_priors.npy beside it (padding dropped).
Status read_matches(const std::string& dir, const std::map<std::string, NpyArray>& files, const NpyArray& m, int64_t n,
                    StoredReplay* out) {
  const auto images = static_cast<int64_t>(out->assignments.size());
  const std::string mpath = (fs::path(dir) / "matches.npy").string();
  const bool padded = out->batch && m.ndim() == 3 && m.shape[0] == images && m.shape[2] == 2;
  const int64_t width = padded || !out->batch ? 2 : 3;
  if ((!padded && (m.ndim() != 2 || m.shape[1] != width)) || m.dtype.kind == DTypeKind::kFloat)
    return Status::InvalidInput(fmt::format("{}: shape {} dtype {}; expected integers shaped (M, {}){}", mpath,
                                            shape_string(m.shape), m.dtype.descr(), width,
                                            out->batch ? " or (B, M, 2)" : ""));
  const int64_t rows = padded ? m.shape[0] * m.shape[1] : m.shape[0];
  const NpyArray* ious = nullptr;
  if (const auto it = files.find("match_ious.npy");
      it != files.end() && it->second.size() == rows && it->second.dtype.kind == DTypeKind::kFloat)
    ious = &it->second;
  for (Assignment& a : out->assignments) {
    a.matches.emplace();
    if (ious) a.match_ious.emplace();
  }
  for (int64_t r = 0; r < rows; ++r) {
    const int64_t image = padded ? r / m.shape[1] : out->batch ? m.to_int64(r * width) : 0;
    const int64_t prior = m.to_int64(r * width + width - 2), gt = m.to_int64(r * width + width - 1);
    if (padded && prior == -1 && gt == -1) continue;
    if (image < 0 || image >= images || prior < 0 || prior >= n || gt < 0 || gt > kMaxGtIndex)
      return Status::InvalidInput(fmt::format("{}: row {} ({}{}, {}) is out of range for {} image{} of {} priors",
                                              mpath, r, out->batch ? fmt::format("{}, ", image) : "", prior, gt, images,
                                              images == 1 ? "" : "s", n));
    Assignment& a = out->assignments[static_cast<size_t>(image)];
    a.matches->push_back({static_cast<int32_t>(prior), static_cast<int32_t>(gt)});
    if (ious) a.match_ious->push_back(static_cast<float>(ious->to_double(r)));
  }
  if (const auto it = files.find("candidate_priors.npy"); it != files.end()) {
    const NpyArray& c = it->second;
    const int64_t width_k = c.ndim() > 0 ? c.shape.back() : 0;
    if (c.dtype.kind == DTypeKind::kFloat || c.ndim() != (out->batch ? 2 : 1) || (out->batch && c.shape[0] != images))
      return Status::InvalidInput(fmt::format("{}: shape {} dtype {}; expected integers shaped {}",
                                              (fs::path(dir) / "candidate_priors.npy").string(), shape_string(c.shape),
                                              c.dtype.descr(), out->batch ? "(B, K)" : "(K,)"));
    for (int64_t b = 0; b < images; ++b) {
      Assignment& a = out->assignments[static_cast<size_t>(b)];
      a.candidate_priors.emplace();
      for (int64_t k = 0; k < width_k; ++k)
        if (const int64_t v = c.to_int64(b * width_k + k); v >= 0 && v < n) a.candidate_priors->push_back(v);
    }
  }
  return Status();
}

Result<StoredReplay> read_npy_result(const std::string& dir) {
  ASSIGNSCOPE_ASSIGN_OR_RETURN(auto stored, read_stored(dir));
  const std::string where = (fs::path(dir) / "params.json").string();
  const auto& files = stored.files;
  const auto gi = files.find("assigned_gt_inds.npy");
  if (gi == files.end()) {
    if (files.count("matches.npy"))
      return Status::InvalidInput(fmt::format(
          "{}: the result holds matches.npy but no assigned_gt_inds.npy, so its number of priors is unknown; "
          "write results to diff with `assignscope run --format npy`",
          dir));
    return Status::InvalidInput(fmt::format("{}: lists no assigned_gt_inds.npy in \"files\"; nothing to diff", where));
  }
  const NpyArray& inds = gi->second;
  const std::string inds_path = (fs::path(dir) / "assigned_gt_inds.npy").string();
  if (inds.dtype.kind != DTypeKind::kInt && inds.dtype.kind != DTypeKind::kUInt)
    return Status::InvalidInput(fmt::format("{}: dtype {}; expected integers", inds_path, inds.dtype.descr()));
  if (inds.ndim() != 1 && inds.ndim() != 2)
    return Status::InvalidInput(
        fmt::format("{}: shape {}; expected (N,) or (B, N)", inds_path, shape_string(inds.shape)));
  StoredReplay out;
  out.batch = inds.ndim() == 2;
  const int64_t images = out.batch ? inds.shape[0] : 1;
  const int64_t n = inds.shape.back();
  out.path = dir;
  out.assigner = stored.params["assigner"];
  if (stored.params.contains("params")) out.params = stored.params["params"];
  std::vector<std::string> names;
  if (out.batch && stored.params.contains("images") && stored.params["images"].is_array() &&
      static_cast<int64_t>(stored.params["images"].size()) == images)
    for (const auto& nm : stored.params["images"]) names.push_back(nm.is_string() ? nm.get<std::string>() : "");

  const NpyArray* labels = nullptr;
  if (const auto it = files.find("assigned_labels.npy"); it != files.end() && it->second.shape == inds.shape)
    labels = &it->second;
  const NpyArray* ks = nullptr;
  if (const auto it = files.find("dynamic_ks.npy"); it != files.end()) {
    const NpyArray& k = it->second;
    const bool ok_shape = out.batch ? k.ndim() == 2 && k.shape[0] == images : k.ndim() == 1;
    if (!ok_shape || k.dtype.kind == DTypeKind::kFloat)
      return Status::InvalidInput(fmt::format("{}: shape {} dtype {}; expected integers shaped {}",
                                              (fs::path(dir) / "dynamic_ks.npy").string(), shape_string(k.shape),
                                              k.dtype.descr(), out.batch ? "(B, G)" : "(G,)"));
    ks = &k;
  }
  for (int64_t b = 0; b < images; ++b) {
    Assignment a;
    a.assigner = out.assigner.is_string() ? out.assigner.get<std::string>() : "";
    a.gt_inds.resize(static_cast<size_t>(n));
    a.labels.assign(static_cast<size_t>(n), -1);
    for (int64_t i = 0; i < n; ++i) {
      const int64_t v = inds.to_int64(b * n + i);
      if (v < -1 || v > kMaxGtIndex)
        return Status::InvalidInput(
            fmt::format("{}: {}prior {} holds {}; expected -1 (ignored), 0 (negative) or a GT "
                        "index + 1",
                        inds_path, out.batch ? fmt::format("image {} ", b) : "", i, v));
      a.gt_inds[static_cast<size_t>(i)] = v;
      if (labels) a.labels[static_cast<size_t>(i)] = labels->to_int64(b * n + i);
    }
    if (ks) {
      const int64_t width = ks->shape.back();
      a.dynamic_ks.emplace();
      for (int64_t g = 0; g < width; ++g) a.dynamic_ks->push_back(ks->to_int64(b * width + g));
    }
    out.assignments.push_back(std::move(a));
    StoredImage img;
    img.name = b < static_cast<int64_t>(names.size()) ? names[static_cast<size_t>(b)] : "";
    img.num_priors = n;
    out.images.push_back(std::move(img));
  }
  if (const auto it = files.find("matches.npy"); it != files.end()) {
    const Status st = read_matches(dir, files, it->second, n, &out);
    if (!st.ok()) return st;
  }
  return out;
}

bool is_int(const nlohmann::json& v) { return v.is_number_integer(); }

// A JSON number as float32; NaN for anything else or out of float's range.
float as_float(const nlohmann::json& v) {
  if (!v.is_number()) return std::numeric_limits<float>::quiet_NaN();
  const double d = v.get<double>();
  if (!(std::fabs(d) <= static_cast<double>(std::numeric_limits<float>::max())))
    return std::numeric_limits<float>::quiet_NaN();
  return static_cast<float>(d);
}

Result<StoredReplay> read_json_result(const std::string& path, const nlohmann::json& j) {
  StoredReplay out;
  out.path = path;
  if (j.contains("assigner")) out.assigner = j["assigner"];
  if (j.contains("params")) out.params = j["params"];
  out.batch = j.contains("batch") && j["batch"].is_boolean() && j["batch"].get<bool>();
  if (!j.contains("images") || !j["images"].is_array())
    return Status::InvalidInput(path +
                                ": no \"images\" list; expected a result written by `assignscope run --format json`");
  const nlohmann::json& images = j["images"];
  for (size_t k = 0; k < images.size(); ++k) {
    const nlohmann::json& img = images[k];
    const std::string at = fmt::format("{}: images[{}]", path, k);
    if (!img.is_object()) return Status::InvalidInput(at + ": not an object");
    if (!img.contains("priors") || !img["priors"].is_object() || !img["priors"].contains("assigned_gt_inds"))
      return Status::InvalidInput(
          fmt::format("{} has no per-prior arrays (priors.assigned_gt_inds); diff needs them: write the result with "
                      "`assignscope run DUMP -a NAME --format json --include priors`",
                      at));
    const nlohmann::json& inds = img["priors"]["assigned_gt_inds"];
    if (!inds.is_array()) return Status::InvalidInput(at + ".priors.assigned_gt_inds: not a list");
    Assignment a;
    a.assigner = out.assigner.is_string() ? out.assigner.get<std::string>() : "";
    for (size_t i = 0; i < inds.size(); ++i) {
      if (!is_int(inds[i]) || inds[i].get<int64_t>() < -1 || inds[i].get<int64_t>() > kMaxGtIndex)
        return Status::InvalidInput(fmt::format("{}.priors.assigned_gt_inds[{}]: {}; expected -1, 0 or a GT index + 1",
                                                at, i, json_snippet(inds[i])));
      a.gt_inds.push_back(inds[i].get<int64_t>());
    }
    const auto n = static_cast<int64_t>(a.gt_inds.size());
    if (img.contains("num_priors") && (!is_int(img["num_priors"]) || img["num_priors"].get<int64_t>() != n))
      return Status::InvalidInput(
          fmt::format("{}: num_priors {} but {} assigned_gt_inds", at, json_snippet(img["num_priors"]), n));
    a.labels.assign(static_cast<size_t>(n), -1);
    if (img["priors"].contains("assigned_labels") && img["priors"]["assigned_labels"].is_array() &&
        static_cast<int64_t>(img["priors"]["assigned_labels"].size()) == n)
      for (size_t i = 0; i < static_cast<size_t>(n); ++i)
        if (is_int(img["priors"]["assigned_labels"][i]))
          a.labels[i] = img["priors"]["assigned_labels"][i].get<int64_t>();

    StoredImage d;
    d.name = img.contains("name") && img["name"].is_string() ? img["name"].get<std::string>() : "";
    d.num_priors = n;
    if (img.contains("gts") && img["gts"].is_array()) {
      const nlohmann::json& gts = img["gts"];
      d.num_gts = static_cast<int64_t>(gts.size());
      std::vector<int64_t> ks;
      bool have_ks = false;
      for (size_t g = 0; g < gts.size(); ++g) {
        const nlohmann::json& gt = gts[g];
        if (!gt.is_object()) return Status::InvalidInput(fmt::format("{}.gts[{}]: not an object", at, g));
        d.gt_labels.push_back(gt.contains("label") && is_int(gt["label"]) ? gt["label"].get<int64_t>() : -1);
        std::array<float, 4> box{};
        if (gt.contains("box") && gt["box"].is_array() && gt["box"].size() == 4)
          for (size_t c = 0; c < 4; ++c) box[c] = as_float(gt["box"][c]);
        d.gt_boxes.push_back(box);
        const bool has_k = gt.contains("dynamic_k") && is_int(gt["dynamic_k"]);
        have_ks |= has_k;
        ks.push_back(has_k ? gt["dynamic_k"].get<int64_t>() : 0);
      }
      if (have_ks) a.dynamic_ks = ks;
    }
    if (img.contains("dynamic_ks") && img["dynamic_ks"].is_array()) {
      std::vector<int64_t> ks;
      for (const auto& v : img["dynamic_ks"]) ks.push_back(is_int(v) ? v.get<int64_t>() : 0);
      a.dynamic_ks = ks;
    }
    if (img.contains("matches") && img["matches"].is_array()) {
      a.matches.emplace();
      for (size_t r = 0; r < img["matches"].size(); ++r) {
        const nlohmann::json& m = img["matches"][r];
        const bool ok = m.is_object() && m.contains("prior") && m.contains("gt") && is_int(m["prior"]) &&
                        is_int(m["gt"]) && m["prior"].get<int64_t>() >= 0 && m["prior"].get<int64_t>() < n &&
                        m["gt"].get<int64_t>() >= 0 && m["gt"].get<int64_t>() <= kMaxGtIndex;
        if (!ok)
          return Status::InvalidInput(fmt::format("{}.matches[{}]: {}; expected {{\"prior\": 0..{}, \"gt\": >= 0}}", at,
                                                  r, json_snippet(m), n - 1));
        a.matches->push_back({m["prior"].get<int32_t>(), m["gt"].get<int32_t>()});
      }
    }
    out.assignments.push_back(std::move(a));
    out.images.push_back(std::move(d));
  }
  if (out.images.empty()) return Status::InvalidInput(path + ": \"images\" is empty; nothing to diff");
  return out;
}

}  // namespace

Result<StoredReplay> read_replay(const std::string& path) {
  const fs::path p(path);
  std::error_code ec;
  if (!fs::exists(p, ec)) return Status::Io(path + ": no such file or directory");
  if (fs::is_directory(p, ec)) {
    if (fs::is_regular_file(p / "params.json", ec)) return read_npy_result(path);
    if (fs::is_directory(p / "expected", ec)) {
      std::vector<std::string> labels;
      for (const auto& e : fs::directory_iterator(p / "expected", ec))
        if (e.is_directory() && e.path().filename().string()[0] != '.') labels.push_back(e.path().filename().string());
      std::sort(labels.begin(), labels.end());
      std::string list;
      for (const std::string& l : labels) list += (list.empty() ? "" : ", ") + l;
      return Status::InvalidInput(
          fmt::format("{}: a case (a dump with stored results), not a result; diff two of its results, "
                      "e.g. {}/expected/{} (results: {})",
                      path, path, labels.empty() ? "LABEL" : labels[0], list.empty() ? "none" : list));
    }
    return not_a_result(path,
                        "a directory without params.json; a dump? to compare assigners on it, give it alone "
                        "with --a NAME --b NAME");
  }
  ASSIGNSCOPE_ASSIGN_OR_RETURN(auto text, read_file_text(path));
  const nlohmann::json j = nlohmann::json::parse(text, nullptr, false);
  if (j.is_discarded() || !j.is_object()) return not_a_result(path, "not a JSON object");
  if (!j.contains("schema") || !j["schema"].is_string())
    return not_a_result(path,
                        "no \"schema\"; a JSON dump? to compare assigners on it, give it alone with --a NAME --b NAME");
  const std::string schema = j["schema"].get<std::string>();
  if (schema != kResultSchema) return not_a_result(path, "schema " + printable(schema, 60) + ", not " + kResultSchema);
  return read_json_result(path, j);
}

}  // namespace assignscope::io
