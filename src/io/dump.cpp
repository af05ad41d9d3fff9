// Loading dumps: which container a path is, one dump or a directory of
// one-image dumps, several dumps as one batch.
#include "io/dump.h"

#include <algorithm>
#include <filesystem>

#include <fmt/format.h>

#include "core/text.h"
#include "io/file_kind.h"

namespace assignscope::io {
namespace fs = std::filesystem;

namespace {

bool has_extension(const fs::path& p, const char* ext) { return p.extension() == ext; }

// What a directory holds, from one listing: field files, a container file
// standing for the dump (a golden case's input.npz / input.json), or
// sub-directories that may be one-image dumps (hidden ones and expected/ left out).
struct DirContents {
  bool has_fields = false;
  std::string container;
  std::vector<fs::path> subdirs;
};

Result<DirContents> list_dir(const std::string& dir) {
  DirContents c;
  std::vector<fs::path> containers;
  std::error_code ec;
  fs::directory_iterator it(dir, ec), end;
  size_t seen = 0;
  for (; !ec && it != end; it.increment(ec)) {
    if (++seen > kMaxDirEntries)
      return Status::InvalidInput(
          fmt::format("{}: holds more than {} entries; not a dump or a batch of dumps", dir, kMaxDirEntries));
    const fs::path p = it->path();
    const std::string name = p.filename().string();
    if (name.empty() || name[0] == '.') continue;
    const FileKind kind = file_kind(p.string());
    if (kind == FileKind::kDirectory) {
      if (name != "expected") c.subdirs.push_back(p);
    } else if (kind == FileKind::kRegular) {
      if (has_extension(p, ".npy")) c.has_fields = true;
      if (has_extension(p, ".npz") || (has_extension(p, ".json") && name != "meta.json")) containers.push_back(p);
    } else if (has_extension(p, ".npy") || has_extension(p, ".npz") || has_extension(p, ".json")) {
      return Status::InvalidInput(
          fmt::format("{}: is {}; expected a regular file", printable(p.string(), 4096, true), file_kind_name(kind)));
    } else if (kind == FileKind::kLinkLoop || kind == FileKind::kBrokenLink) {
      return Status::InvalidInput(fmt::format("{}: is {}", printable(p.string(), 4096, true), file_kind_name(kind)));
    }
  }
  if (ec) return Status::Io(fmt::format("{}: cannot list: {}", dir, ec.message()));
  std::sort(c.subdirs.begin(), c.subdirs.end());
  if (containers.size() == 1) c.container = containers[0].string();
  for (const fs::path& p : containers)
    if (p.stem() == "input") c.container = p.string();
  return c;
}

// One image's (or one stacked batch's) raw fields from a file or directory.
Result<RawDump> read_single(const std::string& path, const LoadOptions& options) {
  if (file_kind(path) == FileKind::kDirectory) {
    ASSIGNSCOPE_ASSIGN_OR_RETURN(auto listed, list_dir(path));
    const DirContents& c = listed;
    if (c.has_fields) return read_npy_dir(path, options);
    if (!c.container.empty()) return read_single(c.container, options);
    return Status::InvalidInput(fmt::format(
        "{}: no dump here; expected <field>.npy files (priors.npy, cls_scores.npy, ...), one .npz or .json file, "
        "or sub-directories holding one-image dumps",
        path));
  }
  const fs::path p(path);
  if (has_extension(p, ".npz")) return read_npz(path, options);
  if (has_extension(p, ".json")) return read_json_dump(path, options);
  if (has_extension(p, ".npy"))
    return Status::Usage(
        fmt::format("{}: a single .npy is one field; give the directory that holds the dump's fields", path));
  return Status::Usage(fmt::format("{}: unknown dump container; expected a directory, an .npz or a .json file", path));
}

// A directory of one-image dumps, in name order.
Result<LoadedDump> read_dump_dirs(const std::string& path, const std::vector<fs::path>& subdirs,
                                  const LoadOptions& options) {
  LoadedDump out;
  out.batch.source = path;
  out.batch.is_batch = true;
  for (const fs::path& sub : subdirs) {
    ASSIGNSCOPE_ASSIGN_OR_RETURN(auto raw, read_single(sub.string(), options));
    ASSIGNSCOPE_ASSIGN_OR_RETURN(auto one, build_batch(std::move(raw), options));
    if (one.batch.is_batch)
      return Status::InvalidInput(
          fmt::format("{}: is itself a batch; a directory of dumps must hold one-image dumps", sub.string()));
    Problem p = std::move(one.batch.images[0]);
    p.name = sub.filename().string();
    out.batch.gt_columns = std::max(out.batch.gt_columns, p.num_gts());
    out.batch.images.push_back(std::move(p));
    for (std::string& w : one.warnings) out.warnings.push_back(std::move(w));
  }
  return out;
}

}  // namespace

Result<LoadedDump> load_dump(const std::string& path, const LoadOptions& options) {
  const FileKind kind = file_kind(path);
  const std::string shown = printable(path, 4096, true);
  if (kind == FileKind::kMissing) return Status::Io(fmt::format("{}: no such file or directory", shown));
  if (kind == FileKind::kLinkLoop || kind == FileKind::kBrokenLink || kind == FileKind::kNoAccess)
    return Status::Io(fmt::format("{}: is {}", shown, file_kind_name(kind)));
  if (kind == FileKind::kDirectory) {
    ASSIGNSCOPE_ASSIGN_OR_RETURN(auto listed, list_dir(path));
    const DirContents& c = listed;
    if (!c.has_fields && c.container.empty() && !c.subdirs.empty()) return read_dump_dirs(path, c.subdirs, options);
  }
  ASSIGNSCOPE_ASSIGN_OR_RETURN(auto raw, read_single(path, options));
  return build_batch(std::move(raw), options);
}

std::vector<std::string> dump_dir_members(const std::string& path) {
  std::error_code ec;
  std::vector<std::string> members;
  if (!fs::is_directory(path, ec)) return members;
  auto listed = list_dir(path);
  if (!listed.ok()) return members;
  const DirContents& c = *listed;
  if (c.has_fields || !c.container.empty()) return members;
  for (const fs::path& sub : c.subdirs) members.push_back(sub.string());
  return members;
}

namespace {
void add_units(const std::string& path, int depth, std::vector<std::string>* out) {
  const std::vector<std::string> members = depth < 4 ? dump_dir_members(path) : std::vector<std::string>{};
  if (members.empty()) {
    out->push_back(path);
    return;
  }
  for (const std::string& m : members) add_units(m, depth + 1, out);
}
}  // namespace

Result<std::vector<std::string>> dump_units(const std::vector<std::string>& patterns) {
  ASSIGNSCOPE_ASSIGN_OR_RETURN(auto paths, expand_paths(patterns));
  std::vector<std::string> out;
  for (const std::string& path : paths) add_units(path, 0, &out);
  return out;
}

Result<LoadedDump> load_dumps(const std::vector<std::string>& patterns, const LoadOptions& options) {
  ASSIGNSCOPE_ASSIGN_OR_RETURN(auto expanded, expand_paths(patterns));
  const std::vector<std::string>& paths = expanded;
  if (paths.empty()) return Status::InvalidInput("no dump given");
  if (paths.size() == 1) return load_dump(paths[0], options);
  LoadedDump out;
  out.batch.source = fmt::format("{} dumps", paths.size());
  out.batch.is_batch = true;
  for (const std::string& path : paths) {
    ASSIGNSCOPE_ASSIGN_OR_RETURN(auto one, load_dump(path, options));
    for (Problem& p : one.batch.images) {
      p.name = one.batch.is_batch ? path + "/" + (p.name.empty() ? "?" : p.name) : path;
      out.batch.gt_columns = std::max(out.batch.gt_columns, p.num_gts());
      out.batch.images.push_back(std::move(p));
    }
    for (std::string& w : one.warnings) out.warnings.push_back(std::move(w));
  }
  return out;
}

}  // namespace assignscope::io