// Dump loading: containers, the shape contract, value checks, batches.
#include "io/dump.h"

#include <glob.h>

#include <algorithm>
#include <cmath>
#include <cstring>
#include <filesystem>

#include <fmt/format.h>

#include "core/guarded.h"
#include "core/suggest.h"
#include "core/text.h"
#include "io/file_kind.h"
#include "io/files.h"
#include "io/memory.h"
#include "io/zip.h"

namespace assignscope::io {
namespace fs = std::filesystem;

namespace {

const std::vector<std::string>& known_fields() {
  static const std::vector<std::string> kNames = {
      "priors",     "anchors",   "num_level_priors", "cls_scores",       "objectness",    "pred_bboxes",
      "pred_distances", "gt_bboxes", "gt_labels",  "gt_bboxes_ignore", "pad_gt_mask", "pad_bbox_flag", "gt_centers", "centerness", "pred_dist"};
  return kNames;
}

bool is_known_field(const std::string& name) {
  const auto& k = known_fields();
  return std::find(k.begin(), k.end(), name) != k.end();
}

// Adds a field, folding the mmyolo alias and refusing duplicates.
Status add_field(RawDump* raw, std::string name, NpyArray array, std::string origin) {
  if (name == "pad_bbox_flag") name = "pad_gt_mask";
  if (!is_known_field(name)) {
    raw->warnings.push_back(fmt::format("{}: unknown field '{}' ignored{}", origin, printable(name, 200, true),
                                        did_you_mean(name, known_fields())));
    return Status();
  }
  if (raw->fields.count(name))
    return Status::InvalidInput(fmt::format("{}: field '{}' given twice (pad_bbox_flag is pad_gt_mask)", origin, name));
  raw->fields[name] = RawField{std::move(array), std::move(origin)};
  return Status();
}

Result<nlohmann::json> parse_json_text(const std::string& text, const std::string& origin) {
  nlohmann::json j = nlohmann::json::parse(text, nullptr, /*allow_exceptions=*/false);
  if (!j.is_discarded()) return j;
  // Find where it broke for the message: parse again with exceptions.
  try {
    const nlohmann::json again = nlohmann::json::parse(text);
    (void)again;
  } catch (const nlohmann::json::parse_error& e) {
    std::string hint;
    const size_t at = e.byte > 0 ? e.byte - 1 : 0;
    if (at < text.size() && (text[at] == 'N' || text[at] == 'I' || text.compare(at, 2, "-I") == 0))
      hint = " (NaN and Infinity are not JSON; Python's json.dump writes them for non-finite floats)";
    // e.what() is "[json.exception.parse_error.101] parse error at line 1, column 5: ..."
    std::string what = e.what();
    const size_t cut = what.find("] ");
    if (cut != std::string::npos) what = what.substr(cut + 2);
    return Status::Corrupt(fmt::format("{}: not valid JSON: {}{}", origin, what, hint));
  } catch (const nlohmann::json::exception& e) {
    // A number beyond float64 (out_of_range.406: "number overflow parsing
    // '1e999'"): nlohmann names the token, not where it is; find it.
    std::string what = e.what();
    const size_t cut = what.find("] ");
    if (cut != std::string::npos) what = what.substr(cut + 2);
    std::string where;
    const size_t q0 = what.find("parsing '");
    const size_t q1 = q0 == std::string::npos ? q0 : what.find('\'', q0 + 9);
    if (q1 != std::string::npos) {
      const size_t at = text.find(what.substr(q0 + 9, q1 - q0 - 9));
      if (at != std::string::npos) {
        const size_t line = 1 + static_cast<size_t>(std::count(text.begin(), text.begin() + static_cast<std::ptrdiff_t>(at), '\n'));
        const size_t line_start = text.rfind('\n', at);
        const size_t column = at - (line_start == std::string::npos ? 0 : line_start + 1) + 1;
        where = fmt::format(" at line {}, column {}", line, column);
      }
    }
    return Status::Corrupt(fmt::format("{}: not valid JSON{}: {} (a number beyond the float64 range)", origin, where,
                                       printable(what, 200)));
  } catch (...) {
  }
  return Status::Corrupt(origin + ": not valid JSON");
}

}  // namespace

// --- containers -------------------------------------------------------------

namespace {

// A dump's own file (a field's .npy, meta.json) must be a regular file (or a
// link to one): a FIFO would block the read, a device never end, a link loop
// or a directory there is a broken dump, said as such rather than "missing".
Status expect_regular(const fs::path& path, const char* what) {
  const FileKind kind = file_kind(path.string());
  if (kind == FileKind::kRegular) return Status();
  return Status::InvalidInput(fmt::format("{}: is {}; expected {} (a regular file)",
                                          printable(path.string(), 4096, true), file_kind_name(kind), what));
}

constexpr size_t kMaxDirEntries = 100000;
}  // namespace
// A feature pyramid has a handful of levels; per-level structures (grids,
// indexes) cost memory each, so a dump may not claim millions of them.
constexpr int64_t kMaxLevels = 1024;
namespace {  // a dump holds a dozen files; a batch directory its images

}  // namespace

Result<RawDump> read_npy_dir(const std::string& dir, const LoadOptions& options) {
  RawDump raw;
  raw.origin = dir;
  std::error_code ec;
  std::vector<fs::path> files;
  fs::directory_iterator it(dir, ec), end;
  size_t seen = 0;
  for (; !ec && it != end; it.increment(ec)) {
    if (++seen > kMaxDirEntries)
      return Status::InvalidInput(fmt::format("{}: holds more than {} entries; not a dump", dir, kMaxDirEntries));
    const fs::path path = it->path();
    if (path.extension() != ".npy") continue;
    ASSIGNSCOPE_RETURN_IF_ERROR(expect_regular(path, "a field's .npy file"));
    files.push_back(path);
  }
  if (ec) return Status::Io(fmt::format("{}: cannot list: {}", dir, ec.message()));
  std::sort(files.begin(), files.end());
  // The files share one budget: each is checked against what the ones
  // before it left.
  MemoryBudget budget = memory_budget(options.memory_limit);
  for (const fs::path& f : files) {
    auto array = read_npy_file(f.string(), budget);
    if (!array.ok()) return array.status();
    budget.bytes -= std::min<uint64_t>(budget.bytes, array->data.size());
    ASSIGNSCOPE_RETURN_IF_ERROR(
        add_field(&raw, f.stem().string(), std::move(array).value(), printable(f.string(), 4096, true)));
  }
  const fs::path meta = fs::path(dir) / "meta.json";
  if (file_kind(meta.string()) != FileKind::kMissing || fs::is_symlink(meta, ec)) {
    ASSIGNSCOPE_RETURN_IF_ERROR(expect_regular(meta, "meta.json"));
    // A few hundred bytes; the cap keeps a mistaken meta.json (a link to a
    // dataset) from being read whole.
    MemoryBudget meta_budget = budget;
    meta_budget.bytes = std::min<uint64_t>(budget.bytes, uint64_t{16} << 20);
    if (meta_budget.bytes < budget.bytes) meta_budget.source = "the size meta.json may have";
    auto text = read_file_text(meta.string(), meta_budget);
    if (!text.ok()) return text.status();
    auto j = parse_json_text(*text, meta.string());
    if (!j.ok()) return j.status();
    raw.meta = std::move(j).value();
    raw.meta_origin = meta.string();
  }
  return raw;
}

namespace {

constexpr size_t kNpyHeadBytes = 4096;  // inflated first from each member: numpy's headers are far shorter

// The header of an .npz member, from its first inflated bytes, checked
// against the size the archive declares for the member.
Status check_member_header(const std::vector<unsigned char>& bytes, const ZipEntry& entry, const std::string& path,
                           const std::string& origin) {
  auto head = read_zip_member(bytes, entry, path, kNpyHeadBytes);
  if (!head.ok()) return head.status();
  const size_t header_end = npy_header_end(head->data(), head->size());
  if (header_end > head->size() && header_end <= entry.uncompressed_size) {  // a longer header
    head = read_zip_member(bytes, entry, path, header_end);
    if (!head.ok()) return head.status();
  }
  auto header = parse_npy_header(head->data(), head->size(), origin);
  if (!header.ok()) return header.status();
  if (header->total_bytes() != entry.uncompressed_size)
    return Status::Corrupt(fmt::format(
        "{}: the .npy header declares shape {} {}, {} bytes with the header, but the archive declares {} bytes "
        "for the member; refused before inflating it",
        origin, shape_string(header->shape), header->dtype.descr(), header->total_bytes(), entry.uncompressed_size));
  return Status();
}

bool is_npy_member(const std::string& name) {
  return name.size() >= 5 && name.compare(name.size() - 4, 4, ".npy") == 0;
}

Result<RawDump> parse_npz_impl(const std::vector<unsigned char>& bytes, const std::string& path,
                               const LoadOptions& options) {
  // The archive stays in memory while its members are read: they get what it leaves.
  MemoryBudget budget = memory_budget(options.memory_limit);
  budget.bytes -= std::min<uint64_t>(budget.bytes, bytes.size());
  auto entries = list_zip(bytes, path, budget);
  if (!entries.ok()) return entries.status();
  RawDump raw;
  raw.origin = path;
  // Every header before any data: a member whose header and directory entry
  // disagree is refused before the others are inflated.
  for (const ZipEntry& e : *entries) {
    const std::string origin = path + ":" + printable(e.name, 200, true);
    if (!is_npy_member(e.name)) {
      raw.warnings.push_back(fmt::format("{}: member is not an .npy array; ignored", origin));
      continue;
    }
    ASSIGNSCOPE_RETURN_IF_ERROR(check_member_header(bytes, e, path, origin));
  }
  for (const ZipEntry& e : *entries) {
    if (!is_npy_member(e.name)) continue;
    const std::string origin = path + ":" + printable(e.name, 200, true);
    auto data = read_zip_member(bytes, e, path);
    if (!data.ok()) return data.status();
    auto array = parse_npy(std::move(data).value(), origin);
    if (!array.ok()) return array.status();
    const std::string name = e.name.substr(0, e.name.size() - 4);
    if (name == "meta") {
      const DTypeKind k = array->dtype.kind;
      if ((k != DTypeKind::kUnicode && k != DTypeKind::kBytes) || array->size() != 1)
        return Status::InvalidInput(fmt::format("{}: dtype {} shape {}; expected a 0-d string array holding the meta JSON",
                                                origin, array->dtype.descr(), shape_string(array->shape)));
      auto j = parse_json_text(array->to_text(), origin);
      if (!j.ok()) return j.status();
      raw.meta = std::move(j).value();
      raw.meta_origin = origin;
      continue;
    }
    ASSIGNSCOPE_RETURN_IF_ERROR(add_field(&raw, name, std::move(array).value(), origin));
  }
  return raw;
}

}  // namespace

Result<RawDump> parse_npz(const std::vector<unsigned char>& bytes, const std::string& path,
                          const LoadOptions& options) {
  return guarded(path, "loading the dump", [&]() { return parse_npz_impl(bytes, path, options); });
}

Result<RawDump> read_npz(const std::string& path, const LoadOptions& options) {
  auto bytes = read_file_bytes(path, memory_budget(options.memory_limit));
  if (!bytes.ok()) return bytes.status();
  return parse_npz(*bytes, path, options);
}

namespace {

// No field of the contract has more than 3 dimensions; deeper nesting is
// refused before it can exhaust the stack.
constexpr size_t kMaxJsonDepth = 8;

// Shape and values of a nested JSON list; numbers only.
Status json_shape(const nlohmann::json& j, size_t depth, std::vector<int64_t>* shape, const std::string& origin,
                  std::vector<int64_t>* at) {
  if (depth > kMaxJsonDepth)
    return Status::InvalidInput(fmt::format("{}: lists nested deeper than {} levels; expected at most [B, N, C]",
                                            origin, kMaxJsonDepth));
  auto where = [&]() {
    std::string s;
    for (int64_t i : *at) s += (s.empty() ? "[" : ", ") + std::to_string(i);
    return s.empty() ? std::string() : s + "]";
  };
  if (j.is_array()) {
    if (depth == shape->size()) {
      if (depth > 0 && !at->empty() && std::any_of(at->begin(), at->end(), [](int64_t i) { return i > 0; }))
        return Status::InvalidInput(fmt::format("{}{}: ragged nested list (a list where a number was expected)",
                                                origin, where()));
      shape->push_back(static_cast<int64_t>(j.size()));
    } else if ((*shape)[depth] != static_cast<int64_t>(j.size())) {
      return Status::InvalidInput(fmt::format("{}{}: ragged nested list: {} elements, expected {}", origin, where(),
                                              j.size(), (*shape)[depth]));
    }
    for (size_t i = 0; i < j.size(); ++i) {
      at->push_back(static_cast<int64_t>(i));
      ASSIGNSCOPE_RETURN_IF_ERROR(json_shape(j[i], depth + 1, shape, origin, at));
      at->pop_back();
    }
    return Status();
  }
  if (depth != shape->size())
    return Status::InvalidInput(fmt::format("{}{}: ragged nested list: a number where a list of {} was expected",
                                            origin, where(), (*shape)[depth]));
  if (j.is_number() || j.is_boolean()) return Status();
  if (j.is_null())
    return Status::InvalidInput(fmt::format(
        "{}{}: null where a number was expected (a NaN written by a JSON library?)", origin, where()));
  return Status::InvalidInput(fmt::format("{}{}: {} where a number was expected", origin, where(), j.type_name()));
}

// Calls f on every number of a nested list, in C order (depth checked by json_shape).
template <class F>
void for_each_leaf(const nlohmann::json& j, F& f) {
  if (j.is_array()) {
    for (const auto& e : j) for_each_leaf(e, f);
  } else {
    f(j);
  }
}

Result<NpyArray> json_to_array(const nlohmann::json& j, const std::string& origin) {
  NpyArray a;
  std::vector<int64_t> at;
  ASSIGNSCOPE_RETURN_IF_ERROR(json_shape(j, 0, &a.shape, origin, &at));
  // Integers beyond int64 are kept as floats, so range checks see their value.
  bool all_int = true;
  size_t count = 0;
  auto classify = [&](const nlohmann::json& v) {
    all_int = all_int && ((v.is_number_integer() && !(v.is_number_unsigned() && v.get<uint64_t>() > INT64_MAX)) ||
                          v.is_boolean());
    ++count;
  };
  for_each_leaf(j, classify);
  a.dtype.kind = all_int ? DTypeKind::kInt : DTypeKind::kFloat;
  a.dtype.itemsize = 8;
  a.data.resize(count * 8);  // written straight from the DOM: no list of pointers to its values
  size_t i = 0;
  auto store = [&](const nlohmann::json& v) {
    if (all_int) {
      const int64_t x = v.is_boolean() ? int64_t{v.get<bool>()} : v.get<int64_t>();
      std::memcpy(&a.data[i * 8], &x, 8);
    } else {
      const double x = v.is_boolean() ? double{v.get<bool>() ? 1.0 : 0.0} : v.get<double>();
      std::memcpy(&a.data[i * 8], &x, 8);
    }
    ++i;
  };
  for_each_leaf(j, store);
  return a;
}

}  // namespace

uint64_t json_parse_bytes(const std::string& text) {
  uint64_t separators = 0, containers = 0;
  for (const char c : text) {
    separators += c == ',';
    containers += c == '[' || c == '{';
  }
  const uint64_t values = separators + containers + 1;
  return text.size() + 64 * values + 96 * containers;
}

namespace {

Result<RawDump> parse_json_dump_impl(const std::string& text, const std::string& origin, const LoadOptions& options) {
  const MemoryBudget budget = memory_budget(options.memory_limit);
  const uint64_t parsed_bytes = json_parse_bytes(text);
  if (parsed_bytes > budget.bytes)
    return Status::InvalidInput(over_budget(fmt::format("{}: {} of JSON text, parsed, may need", origin, format_bytes(text.size())),
                                            parsed_bytes, budget) +
                                "; refused before parsing it (an .npz holds large dumps in 4 bytes a float)");
  auto parsed = parse_json_text(text, origin);
  if (!parsed.ok()) return parsed.status();
  nlohmann::json& j = parsed.value();
  if (!j.is_object())
    return Status::InvalidInput(fmt::format("{}: top level is a JSON {}; expected an object with 'meta' and one key per field",
                                            origin, j.type_name()));
  RawDump raw;
  raw.origin = origin;
  for (auto it = j.begin(); it != j.end(); ++it) {
    const std::string field_origin = origin + ":" + printable(it.key(), 200, true);
    if (it.key() == "meta") {
      raw.meta = std::move(it.value());  // moved, never copied: a copy recurses
      raw.meta_origin = field_origin;
      continue;
    }
    if (!is_known_field(it.key())) {
      ASSIGNSCOPE_RETURN_IF_ERROR(add_field(&raw, it.key(), NpyArray{}, field_origin));
      continue;
    }
    auto array = json_to_array(it.value(), field_origin);
    if (!array.ok()) return array.status();
    ASSIGNSCOPE_RETURN_IF_ERROR(add_field(&raw, it.key(), std::move(array).value(), field_origin));
  }
  return raw;
}

}  // namespace

Result<RawDump> parse_json_dump(const std::string& text, const std::string& origin, const LoadOptions& options) {
  return guarded(origin, "loading the dump", [&]() { return parse_json_dump_impl(text, origin, options); });
}

Result<RawDump> read_json_dump(const std::string& path, const LoadOptions& options) {
  auto text = read_file_text(path, memory_budget(options.memory_limit));
  if (!text.ok()) return text.status();
  return parse_json_dump(*text, path, options);
}

// --- validation -------------------------------------------------------------

namespace {

// Multi-index of flat element `flat` in `shape`, numpy style: "[3, 1]".
std::string index_string(int64_t flat, const std::vector<int64_t>& shape) {
  std::vector<int64_t> idx(shape.size());
  for (size_t d = shape.size(); d-- > 0;) {
    const int64_t n = std::max<int64_t>(shape[d], 1);
    idx[d] = flat % n;
    flat /= n;
  }
  std::string s = "[";
  for (size_t d = 0; d < idx.size(); ++d) s += (d ? ", " : "") + std::to_string(idx[d]);
  return s + "]";
}

std::string dims_string(const std::vector<std::string>& dims) {
  std::string s = "[";
  for (size_t i = 0; i < dims.size(); ++i) s += (i ? ", " : "") + dims[i];
  return s + "]";
}

bool is_numeric(const NpyArray& a) {
  return a.dtype.kind == DTypeKind::kFloat || a.dtype.kind == DTypeKind::kInt || a.dtype.kind == DTypeKind::kUInt ||
         a.dtype.kind == DTypeKind::kBool;
}

// The whole field as float32, C order.
std::vector<float> field_floats(const NpyArray& a) {
  const int64_t n = a.size();
  std::vector<float> out(static_cast<size_t>(n));
  if (a.dtype.kind == DTypeKind::kFloat && a.dtype.itemsize == 4) {
    if (n > 0) std::memcpy(out.data(), a.data.data(), static_cast<size_t>(n) * 4);
  } else if (a.dtype.kind == DTypeKind::kFloat && a.dtype.itemsize == 8) {
    const auto* d = reinterpret_cast<const double*>(a.data.data());
    for (int64_t i = 0; i < n; ++i) out[i] = static_cast<float>(d[i]);
  } else {
    for (int64_t i = 0; i < n; ++i) out[i] = static_cast<float>(a.to_double(i));
  }
  return out;
}

class Validator {
 public:
  Validator(RawDump raw, const LoadOptions& options) : raw_(std::move(raw)), options_(options) {}

  Result<LoadedDump> run() {
    ASSIGNSCOPE_RETURN_IF_ERROR(parse_meta());
    ASSIGNSCOPE_RETURN_IF_ERROR(check_dtypes());
    ASSIGNSCOPE_RETURN_IF_ERROR(find_batch());
    ASSIGNSCOPE_RETURN_IF_ERROR(find_dims());
    LoadedDump out;
    out.batch.source = raw_.origin;
    out.batch.is_batch = batch_;
    out.batch.gt_columns = gt_columns_;
    const int64_t images = batch_ ? num_images_ : 1;
    ASSIGNSCOPE_RETURN_IF_ERROR(convert_fields());
    for (int64_t b = 0; b < images; ++b) {
      auto p = build_image(b);
      if (!p.ok()) return p.status();
      out.batch.images.push_back(std::move(p).value());
    }
    out.warnings = std::move(raw_.warnings);
    return out;
  }

 private:
  const RawField* get(const std::string& name) const {
    auto it = raw_.fields.find(name);
    return it == raw_.fields.end() ? nullptr : &it->second;
  }

  Status meta_error(const std::string& key, const std::string& what) const {
    const std::string origin = raw_.meta_origin.empty() ? raw_.origin + ":meta" : raw_.meta_origin;
    return Status::InvalidInput(fmt::format("{}: meta key '{}' {}", origin, key, what));
  }

  Status parse_meta() {
    const nlohmann::json& m = raw_.meta;
    if (m.is_null()) return Status();
    if (!m.is_object())
      return Status::InvalidInput(fmt::format("{}: meta is a JSON {}; expected an object",
                                              raw_.meta_origin.empty() ? raw_.origin : raw_.meta_origin, m.type_name()));
    if (m.contains("version")) {
      const auto& v = m["version"];
      if (!v.is_number_integer() || v.get<int64_t>() != 1)
        return meta_error("version", fmt::format("is {}; expected 1 (the only dump format version)", json_snippet(v)));
      meta_.version = 1;
    }
    if (m.contains("image_size")) {
      const auto& v = m["image_size"];
      bool ok = v.is_array() && v.size() == 2;
      for (size_t i = 0; ok && i < 2; ++i) {
        const double d = v[i].is_number() ? v[i].get<double>() : 0.0;
        ok = v[i].is_number() && d >= 1 && d < 1e9 && d == std::floor(d);  // pixels: 0.5 would truncate to 0
      }
      if (!ok) return meta_error("image_size", fmt::format("is {}; expected [height, width], two positive integers (pixels)", json_snippet(v)));
      meta_.image_size = std::array<int64_t, 2>{static_cast<int64_t>(v[0].get<double>()),
                                                static_cast<int64_t>(v[1].get<double>())};
    }
    if (m.contains("num_classes")) {
      const auto& v = m["num_classes"];
      if (!v.is_number_integer() || v.get<int64_t>() <= 0 || v.get<int64_t>() > (1 << 24))
        return meta_error("num_classes", fmt::format("is {}; expected a positive integer", json_snippet(v)));
      meta_.num_classes = v.get<int64_t>();
    }
    if (m.contains("scores")) {
      const auto& v = m["scores"];
      if (v == "logits") {
        meta_.scores = ScoreKind::kLogits;
      } else if (v == "probs") {
        meta_.scores = ScoreKind::kProbs;
      } else {
        return meta_error("scores", fmt::format("is {}; expected \"logits\" or \"probs\"", json_snippet(v)));
      }
    }
    if (m.contains("source")) {
      const auto& v = m["source"];
      meta_.source = v.is_string() ? v.get<std::string>() : json_snippet(v);
    }
    if (m.contains("reg_max") && !m["reg_max"].is_null()) {
      const auto& v = m["reg_max"];
      if (!v.is_number_integer() || v.get<int64_t>() <= 0 || v.get<int64_t>() > (1 << 20))
        return meta_error("reg_max", fmt::format("is {}; expected a positive integer", json_snippet(v)));
      meta_.reg_max = v.get<int64_t>();
    }
    if (m.contains("box_format")) {
      const auto& v = m["box_format"];
      if (v == "xyxy") meta_.box_format = BoxFormat::kXyxy;
      else if (v == "cxcywh") meta_.box_format = BoxFormat::kCxcywh;
      else return meta_error("box_format", fmt::format("is {}; expected \"xyxy\" or \"cxcywh\"", json_snippet(v)));
    }
    // Provenance written by the hooks (tools/python/assignscope_hooks.py).
    for (auto [key, slot] : {std::pair<const char*, std::string*>{"framework", &meta_.framework},
                             {"framework_version", &meta_.framework_version},
                             {"device", &meta_.device},
                             {"dtype", &meta_.dtype},
                             {"branch", &meta_.branch},
                             {"assigner", &meta_.assigner},
                             {"preset", &meta_.preset}}) {
      if (!m.contains(key) || m[key].is_null()) continue;
      if (!m[key].is_string() || m[key].get<std::string>().size() > 1000)
        return meta_error(key, fmt::format("is {}; expected a string", json_snippet(m[key])));
      *slot = m[key].get<std::string>();
    }
    for (auto [key, slot] : {std::pair<const char*, std::optional<int64_t>*>{"step", &meta_.step},
                             {"epoch", &meta_.epoch},
                             {"rank", &meta_.rank}}) {
      if (!m.contains(key) || m[key].is_null()) continue;
      if (!m[key].is_number_integer())
        return meta_error(key, fmt::format("is {}; expected an integer", json_snippet(m[key])));
      *slot = m[key].get<int64_t>();
    }
    if (m.contains("autocast") && !m["autocast"].is_null()) {
      if (!m["autocast"].is_boolean())
        return meta_error("autocast", fmt::format("is {}; expected true or false", json_snippet(m["autocast"])));
      meta_.autocast = m["autocast"].get<bool>();
    }
    if (m.contains("assigner_params") && !m["assigner_params"].is_null()) {
      if (!m["assigner_params"].is_object())
        return meta_error("assigner_params",
                          fmt::format("is {}; expected an object of parameters", json_snippet(m["assigner_params"])));
      meta_.assigner_params = m["assigner_params"].dump();
    }
    return Status();
  }

  Status check_dtypes() const {
    for (const auto& [name, f] : raw_.fields) {
      if (!is_numeric(f.array))
        return Status::InvalidInput(fmt::format("{}: dtype {}; expected a numeric array (float, int, uint or bool)",
                                                f.origin, f.array.dtype.descr()));
    }
    return Status();
  }

  // A field with the batch dimension when the dump is a batch.
  static bool per_image(const std::string& name) {
    return name != "priors" && name != "anchors" && name != "num_level_priors";
  }
  // Rank of a field for one image. Per-prior and per-GT vectors may carry a
  // trailing dimension of 1 ([G, 1] labels as mmdet/mmyolo keep them).
  int image_rank(const std::string& name, const NpyArray& a) const {
    if (name == "num_level_priors") return 1;
    if (name == "objectness" || name == "centerness" || name == "gt_labels" || name == "pad_gt_mask") {
      const bool trailing_one = a.ndim() == (batch_ ? 3 : 2) && a.shape.back() == 1;
      return trailing_one ? 2 : 1;
    }
    return 2;
  }

  Status find_batch() {
    // A batch is recognised by its ground truth: gt_bboxes [B, Gmax, 4], or a
    // pad_gt_mask; or by per-image predictions with one more dimension.
    const RawField* source = nullptr;
    if (const RawField* g = get("gt_bboxes"); g && g->array.ndim() == 3) source = g;
    if (!source) source = get("pad_gt_mask");
    if (!source) {
      for (const char* name : {"cls_scores", "pred_bboxes", "pred_distances"})
        if (const RawField* f = get(name); f && f->array.ndim() == 3) { source = f; break; }
    }
    if (!source) {
      if (const RawField* f = get("objectness"); f && f->array.ndim() == 2 && f->array.shape[1] != 1) source = f;
    }
    if (!source) return Status();
    if (source->array.ndim() < 2)
      return Status::InvalidInput(fmt::format("{}: shape {}; expected [B, Gmax] or [B, Gmax, 1]", source->origin,
                                              shape_string(source->array.shape)));
    batch_ = true;
    num_images_ = source->array.shape[0];
    batch_origin_ = source->origin;
    if (num_images_ == 0)
      return Status::InvalidInput(fmt::format("{}: shape {}: a batch of B = 0 images; expected at least one image",
                                              source->origin, shape_string(source->array.shape)));
    // Zero-size fields hold no data to bound B: each image's records
    // (its Problem, its result) are charged against the budget instead.
    const MemoryBudget budget = memory_budget(options_.memory_limit);
    if (static_cast<uint64_t>(num_images_) > budget.bytes / kBytesPerImage)
      return Status::InvalidInput(over_budget(
          fmt::format("{}: shape {}: a batch of B = {} images, at {} of records an image, needs", source->origin,
                      shape_string(source->array.shape), num_images_, format_bytes(kBytesPerImage)),
          static_cast<uint64_t>(num_images_) > UINT64_MAX / kBytesPerImage
              ? UINT64_MAX
              : static_cast<uint64_t>(num_images_) * kBytesPerImage,
          budget));
    if (get("gt_bboxes_ignore"))
      return Status::Unsupported(fmt::format(
          "{}: gt_bboxes_ignore in a stacked batch is not supported; give a directory of one-image dumps instead",
          get("gt_bboxes_ignore")->origin));
    for (const auto& [name, f] : raw_.fields) {
      const int rank = image_rank(name, f.array);
      const bool with_b = f.array.ndim() == rank + 1;
      if (per_image(name) && !with_b)
        return Status::InvalidInput(fmt::format(
            "{}: shape {} has no batch dimension, but {} makes this dump a batch of {}; expected a leading B = {}",
            f.origin, shape_string(f.array.shape), batch_origin_, num_images_, num_images_));
      if (with_b && f.array.shape[0] != num_images_)
        return Status::InvalidInput(fmt::format("{}: shape {}: batch dimension {} disagrees with B = {} of {}",
                                                f.origin, shape_string(f.array.shape), f.array.shape[0], num_images_,
                                                batch_origin_));
    }
    return Status();
  }

  // Checks the shape of a field (without batch dim) against dims where
  // -1 means "any, remember it".
  Status expect_shape(const std::string& name, std::vector<int64_t*> dims, std::vector<int64_t> fixed,
                      const std::vector<std::string>& labels) {
    const RawField* f = get(name);
    if (!f) return Status();
    const NpyArray& a = f->array;
    const int rank = static_cast<int>(labels.size());
    const bool with_b = batch_ && a.ndim() == rank + 1;
    std::vector<std::string> want = labels;
    if (batch_ && per_image(name)) want.insert(want.begin(), "B");
    auto fail = [&](const std::string& why) {
      return Status::InvalidInput(fmt::format("{}: shape {} but expected {}{}", f->origin, shape_string(a.shape),
                                              dims_string(want), why));
    };
    if (a.ndim() != rank + (with_b ? 1 : 0)) {
      // Tolerate the empty 1-d array numpy makes from [] for an empty box list.
      if (!batch_ && a.ndim() == 1 && a.shape[0] == 0 && rank == 2 && fixed[1] == 4 && *dims[0] < 0) {
        *dims[0] = 0;
        return Status();
      }
      return fail("");
    }
    const size_t off = with_b ? 1 : 0;
    for (int d = 0; d < rank; ++d) {
      const int64_t got = a.shape[off + d];
      if (fixed[d] >= 0) {
        if (got != fixed[d]) return fail(fmt::format(" (dimension {} must be {})", d + off, fixed[d]));
      } else if (dims[d]) {
        if (*dims[d] < 0) {
          *dims[d] = got;
          dim_origin_[dims[d]] = f->origin;
        } else if (*dims[d] != got) {
          return fail(fmt::format(" ({} = {} from {})", labels[d], *dims[d], dim_origin_[dims[d]]));
        }
      }
    }
    return Status();
  }

  Status find_dims() {
    int64_t* none = nullptr;
    // N: every per-prior field agrees.
    ASSIGNSCOPE_RETURN_IF_ERROR(expect_shape("priors", {&n_, none}, {-1, 4}, {"N", "4"}));
    ASSIGNSCOPE_RETURN_IF_ERROR(expect_shape("anchors", {&n_, none}, {-1, 4}, {"N", "4"}));
    ASSIGNSCOPE_RETURN_IF_ERROR(expect_shape("cls_scores", {&n_, &c_}, {-1, -1}, {"N", "C"}));
    ASSIGNSCOPE_RETURN_IF_ERROR(expect_shape("pred_bboxes", {&n_, none}, {-1, 4}, {"N", "4"}));
    ASSIGNSCOPE_RETURN_IF_ERROR(expect_shape("pred_distances", {&n_, none}, {-1, 4}, {"N", "4"}));
    if (const RawField* o = get("objectness")) {
      if (image_rank("objectness", o->array) == 2) {
        ASSIGNSCOPE_RETURN_IF_ERROR(expect_shape("objectness", {&n_, none}, {-1, 1}, {"N", "1"}));
      } else {
        ASSIGNSCOPE_RETURN_IF_ERROR(expect_shape("objectness", {&n_}, {-1}, {"N"}));
      }
    }
    if (const RawField* o = get("centerness")) {
      if (image_rank("centerness", o->array) == 2) {
        ASSIGNSCOPE_RETURN_IF_ERROR(expect_shape("centerness", {&n_, none}, {-1, 1}, {"N", "1"}));
      } else {
        ASSIGNSCOPE_RETURN_IF_ERROR(expect_shape("centerness", {&n_}, {-1}, {"N"}));
      }
    }
    int64_t dist_cols = -1;
    ASSIGNSCOPE_RETURN_IF_ERROR(expect_shape("pred_dist", {&n_, &dist_cols}, {-1, -1}, {"N", "4 * reg_max"}));
    if (const RawField* d = get("pred_dist")) {
      if (dist_cols <= 0 || dist_cols % 4 != 0)
        return Status::InvalidInput(fmt::format("{}: shape {}: {} columns; expected 4 * reg_max (sides l, t, r, b)",
                                                d->origin, shape_string(d->array.shape), dist_cols));
      if (meta_.reg_max && *meta_.reg_max * 4 != dist_cols)
        return meta_error("reg_max", fmt::format("is {} but {} has {} columns; expected 4 * reg_max", *meta_.reg_max,
                                                 d->origin, dist_cols));
      dist_cols_ = dist_cols;
    }
    ASSIGNSCOPE_RETURN_IF_ERROR(expect_shape("num_level_priors", {&l_}, {-1}, {"L"}));
    if (l_ > kMaxLevels)
      return Status::InvalidInput(fmt::format("{}: {} pyramid levels; expected at most {} (a feature pyramid has a "
                                              "handful)",
                                              get("num_level_priors")->origin, l_, kMaxLevels));
    if (get("pred_bboxes") && get("pred_distances"))
      return Status::InvalidInput(fmt::format("{}: both pred_bboxes and pred_distances are present; expected one of them",
                                              raw_.origin));
    if (get("pred_distances") && !get("priors"))
      return Status::InvalidInput(fmt::format("{}: pred_distances needs priors to be decoded (x1 = cx - l, ...)",
                                              get("pred_distances")->origin));
    // G: ground truth and its labels and mask.
    ASSIGNSCOPE_RETURN_IF_ERROR(expect_shape("gt_bboxes", {&g_, none}, {-1, 4}, {"G", "4"}));
    for (const char* name : {"gt_labels", "pad_gt_mask"}) {
      const RawField* f = get(name);
      if (!f) continue;
      if (image_rank(name, f->array) == 2) {
        ASSIGNSCOPE_RETURN_IF_ERROR(expect_shape(name, {&g_, none}, {-1, 1}, {"G", "1"}));
      } else {
        ASSIGNSCOPE_RETURN_IF_ERROR(expect_shape(name, {&g_}, {-1}, {"G"}));
      }
    }
    ASSIGNSCOPE_RETURN_IF_ERROR(expect_shape("gt_centers", {&g_, none}, {-1, 2}, {"G", "2"}));
    if (get("gt_centers") && !get("gt_bboxes"))
      return Status::InvalidInput(fmt::format("{}: gt_centers is present but gt_bboxes is missing", raw_.origin));
    int64_t k = -1;
    ASSIGNSCOPE_RETURN_IF_ERROR(expect_shape("gt_bboxes_ignore", {&k, none}, {-1, 4}, {"K", "4"}));
    if (get("gt_bboxes") && !get("gt_labels"))
      return Status::InvalidInput(fmt::format("{}: gt_bboxes is present but gt_labels is missing", raw_.origin));
    if (get("gt_labels") && !get("gt_bboxes"))
      return Status::InvalidInput(fmt::format("{}: gt_labels is present but gt_bboxes is missing", raw_.origin));
    if (get("pad_gt_mask") && !get("gt_bboxes"))
      return Status::InvalidInput(fmt::format("{}: pad_gt_mask is present but gt_bboxes is missing", raw_.origin));
    if (n_ < 0) n_ = 0;
    if (g_ < 0) g_ = 0;
    // C + 1 columns with num_classes = C: a softmax head's scores, the last
    // column "no object" (DETR's CrossEntropyLoss head).
    if (c_ >= 0 && meta_.num_classes && *meta_.num_classes + 1 == c_) background_column_ = true;
    else if (c_ >= 0 && meta_.num_classes && *meta_.num_classes != c_)
      return meta_error("num_classes", fmt::format("is {} but {} has C = {} columns; expected C (sigmoid heads) or "
                                                   "C + 1 (softmax heads with a last \"no object\" column)",
                                                   *meta_.num_classes, get("cls_scores")->origin, c_));
    if (c_ == 0 && n_ > 0)
      return Status::InvalidInput(fmt::format("{}: shape {}: zero classes; expected C >= 1", get("cls_scores")->origin,
                                              shape_string(get("cls_scores")->array.shape)));
    gt_columns_ = g_;
    return Status();
  }

  // Converts float fields once, checking finiteness; ints checked for range.
  Status convert_fields() {
    for (const auto& [name, f] : raw_.fields) {
      if (name == "num_level_priors" || name == "gt_labels" || name == "pad_gt_mask") continue;
      std::vector<float> v = field_floats(f.array);
      if (options_.allow_nonfinite) {
        const auto bad = std::count_if(v.begin(), v.end(), [](float x) { return !std::isfinite(x); });
        if (bad > 0)
          raw_.warnings.push_back(fmt::format(
              "{}: {} non-finite values let through by --allow-nonfinite; they are replayed with torch's NaN rules "
              "as far as known (docs/format.md), which no golden case checks",
              f.origin, bad));
      } else {
        for (size_t i = 0; i < v.size(); ++i) {
          if (std::isfinite(v[i])) continue;
          const double orig = f.array.to_double(static_cast<int64_t>(i));
          const std::string what = std::isfinite(orig) ? fmt::format("{} (outside the float32 range)", orig)
                                                       : fmt::format("{}", orig);
          return Status::InvalidInput(fmt::format(
              "{}: {}{} is {}; expected finite values (pass --allow-nonfinite to replay anyway)", f.origin, name,
              index_string(static_cast<int64_t>(i), f.array.shape), what));
        }
      }
      floats_[name] = std::move(v);
    }
    if (meta_.scores == ScoreKind::kProbs) {
      for (const char* name : {"cls_scores", "objectness"}) {
        auto it = floats_.find(name);
        if (it == floats_.end()) continue;
        probs_[name] = it->second;  // kept as given for assigners that consume probabilities
        for (size_t i = 0; i < it->second.size(); ++i) {
          float& p = it->second[i];
          if (!(p >= 0.0f && p <= 1.0f) && !(options_.allow_nonfinite && std::isnan(p)))
            return Status::InvalidInput(fmt::format(
                "{}: {}{} is {}; meta says scores are \"probs\", expected values in [0, 1]", get(name)->origin, name,
                index_string(static_cast<int64_t>(i), get(name)->array.shape), p));
          // logit(p), clamped at +-100 as F.binary_cross_entropy clamps its logs.
          const double logit = std::log(static_cast<double>(p)) - std::log1p(-static_cast<double>(p));
          p = static_cast<float>(std::clamp(logit, -100.0, 100.0));
        }
      }
    }
    warn_misread_values();
    for (const char* name : {"num_level_priors", "gt_labels", "pad_gt_mask"}) {
      const RawField* f = get(name);
      if (!f) continue;
      std::vector<int64_t> v(static_cast<size_t>(f->array.size()));
      for (int64_t i = 0; i < f->array.size(); ++i) {
        const double d = f->array.to_double(i);
        const bool integral = f->array.dtype.kind != DTypeKind::kFloat || (std::isfinite(d) && d == std::floor(d));
        if (!integral)
          return Status::InvalidInput(fmt::format("{}: {}{} is {}; expected an integer", f->origin, name,
                                                  index_string(i, f->array.shape), d));
        // Beyond 2^53 no count, label or flag of a dump makes sense, and the
        // int64 conversion of larger floats would be undefined.
        if (std::fabs(d) > 9007199254740992.0) {
          const std::string shown = f->array.dtype.kind == DTypeKind::kFloat
                                        ? fmt::format("{}", d)
                                        : f->array.dtype.kind == DTypeKind::kUInt
                                              ? fmt::format("{}", static_cast<uint64_t>(d))
                                              : std::to_string(f->array.to_int64(i));
          return Status::InvalidInput(fmt::format("{}: {}{} is {}; expected an integer below 2^53", f->origin, name,
                                                  index_string(i, f->array.shape), shown));
        }
        v[i] = f->array.dtype.kind == DTypeKind::kFloat ? static_cast<int64_t>(d) : f->array.to_int64(i);
      }
      ints_[name] = std::move(v);
    }
    return Status();
  }

  // Dumps that are wrong in a way the values show, though each value is
  // legal: probabilities under meta.scores "logits" (every one in [0, 1]),
  // GT boxes normalised to [0, 1] where the assigners take pixels.
  void warn_misread_values() {
    if (const auto it = floats_.find("cls_scores"); it != floats_.end() && meta_.scores == ScoreKind::kLogits &&
                                                   it->second.size() >= 16) {
      // Zeros alone (a synthetic or untrained head) are as much logits as probabilities: say nothing.
      const bool unit = std::all_of(it->second.begin(), it->second.end(), [](float x) { return x >= 0.0f && x <= 1.0f; }) &&
                        std::any_of(it->second.begin(), it->second.end(), [](float x) { return x > 0.0f && x < 1.0f; });
      if (unit)
        raw_.warnings.push_back(fmt::format(
            "{}: every one of its {} values lies in [0, 1], as probabilities do, but meta.scores is \"logits\" "
            "(the default): if these are probabilities (after a sigmoid), set \"scores\": \"probs\" in meta.json",
            get("cls_scores")->origin, it->second.size()));
    }
    if (const auto it = floats_.find("gt_bboxes"); it != floats_.end() && meta_.image_size && !it->second.empty()) {
      const int64_t side = std::max((*meta_.image_size)[0], (*meta_.image_size)[1]);
      float largest = 0.0f;
      for (float x : it->second) largest = std::max(largest, std::fabs(x));
      if (side >= 32 && largest > 0.0f && largest <= 1.0f)
        raw_.warnings.push_back(fmt::format(
            "{}: every coordinate lies in [0, 1] while meta.image_size is {} x {}: boxes normalised to the image? "
            "The assigners take (x1, y1, x2, y2) in input pixels: multiply by the width and height",
            get("gt_bboxes")->origin, (*meta_.image_size)[0], (*meta_.image_size)[1]));
    }
  }

  // Copies `count` rows of width `width` of image b out of a converted field.
  template <class Array>
  void slice_rows(const std::string& name, int64_t b, int64_t rows, Array* out) const {
    const std::vector<float>& v = floats_.at(name);
    const RawField* f = get(name);
    const int64_t width = out->cols();
    const bool with_b = batch_ && f->array.ndim() == image_rank(name, f->array) + 1;
    const int64_t offset = with_b ? b * rows * width : 0;
    out->resize(rows, width);
    if (rows * width > 0) std::memcpy(out->data(), v.data() + offset, static_cast<size_t>(rows * width) * sizeof(float));
  }

  // "<origin>: <field>[b, i]": where element i of image b sits, for messages.
  std::string element(const std::string& name, int64_t b, int64_t flat_in_image) const {
    const RawField* f = get(name);
    const bool with_b = batch_ && f->array.ndim() == image_rank(name, f->array) + 1;
    int64_t per_image = 1;
    for (size_t d = with_b ? 1 : 0; d < f->array.shape.size(); ++d) per_image *= f->array.shape[d];
    const int64_t flat = (with_b ? b * per_image : 0) + flat_in_image;
    return fmt::format("{}: {}{}", f->origin, name, index_string(flat, f->array.shape));
  }

  // (cx, cy, w, h) -> (x1, y1, x2, y2) as YOLOX computes corners: c -+ wh / 2, float32.
  static void to_xyxy(Rows4f* boxes) {
    for (Eigen::Index i = 0; i < boxes->rows(); ++i) {
      const float cx = (*boxes)(i, 0), cy = (*boxes)(i, 1), hw = (*boxes)(i, 2) / 2.0f, hh = (*boxes)(i, 3) / 2.0f;
      (*boxes)(i, 0) = cx - hw, (*boxes)(i, 1) = cy - hh, (*boxes)(i, 2) = cx + hw, (*boxes)(i, 3) = cy + hh;
    }
  }

  Status check_boxes(const std::string& name, int64_t b, const Rows4f& boxes, bool is_error,
                     std::vector<std::string>* warnings) const {
    int64_t bad = 0, first = -1;
    for (Eigen::Index i = 0; i < boxes.rows(); ++i) {
      if (boxes(i, 2) < boxes(i, 0) || boxes(i, 3) < boxes(i, 1)) {
        if (first < 0) first = i;
        ++bad;
      }
    }
    if (bad == 0) return Status();
    const std::string where = element(name, b, first * 4);
    const std::string msg = fmt::format(
        "{} = ({}, {}, {}, {}) has x2 < x1 or y2 < y1 ({} such rows); expected (x1, y1, x2, y2) boxes — is this "
        "(cx, cy, w, h) or (x, y, w, h)?",
        where, boxes(first, 0), boxes(first, 1), boxes(first, 2), boxes(first, 3), bad);
    if (is_error) return Status::InvalidInput(msg);
    warnings->push_back(msg);
    return Status();
  }

  Result<Problem> build_image(int64_t b) {
    Problem p;
    p.meta = meta_;
    p.name = batch_ ? std::to_string(b) : "";
    p.set_num_priors(n_);
    auto mark = [&](Field f) {
      if (get(field_name(f))) p.mark(f);
    };
    for (Field f : {Field::kPriors, Field::kAnchors, Field::kNumLevelPriors, Field::kClsScores, Field::kObjectness,
                    Field::kPredBboxes, Field::kPredDistances, Field::kGtBboxes, Field::kGtLabels,
                    Field::kGtBboxesIgnore, Field::kPadGtMask, Field::kGtCenters, Field::kCenterness,
                    Field::kPredDist})
      mark(f);
    p.background_column = background_column_;
    const bool cxcywh = meta_.box_format == BoxFormat::kCxcywh;

    if (get("priors")) {
      slice_rows("priors", b, n_, &p.priors);
      // Stride 0 in every row: locations without a stride, as DETR-style
      // queries are dumped (all zeros). Kept like an anchors-only dump's
      // centres, but not as point priors: assigners that need strides refuse
      // (check_needs says why).
      const bool strideless = n_ > 0 && (p.priors.col(2) == 0.0f).all() && (p.priors.col(3) == 0.0f).all();
      if (strideless) {
        p.present &= ~(1u << static_cast<unsigned>(Field::kPriors));
        p.strideless_priors = true;
      }
      for (int64_t i = 0; i < n_ && !strideless; ++i) {
        if (p.priors(i, 2) > 0 && p.priors(i, 3) > 0) continue;
        if (!options_.allow_nonfinite || (std::isfinite(p.priors(i, 2)) && std::isfinite(p.priors(i, 3))))
          return Status::InvalidInput(fmt::format("{} = ({}, {}, {}, {}): stride must be > 0; expected priors as "
                                                  "(cx, cy, stride_w, stride_h)",
                                                  element("priors", b, i * 4), p.priors(i, 0), p.priors(i, 1),
                                                  p.priors(i, 2), p.priors(i, 3)));
      }
    }
    if (get("anchors")) {
      slice_rows("anchors", b, n_, &p.anchors);
      ASSIGNSCOPE_RETURN_IF_ERROR(check_boxes("anchors", b, p.anchors, true, nullptr));
      if (!get("priors")) {
        // Centres from the anchors; no stride is known.
        p.priors.resize(n_, 4);
        for (int64_t i = 0; i < n_; ++i) {
          p.priors(i, 0) = (p.anchors(i, 0) + p.anchors(i, 2)) / 2.0f;
          p.priors(i, 1) = (p.anchors(i, 1) + p.anchors(i, 3)) / 2.0f;
          p.priors(i, 2) = p.priors(i, 3) = 0.0f;
        }
      }
    }
    if (get("cls_scores")) {
      const int64_t rows = n_;
      const std::vector<float>& v = floats_.at("cls_scores");
      p.cls_scores.resize(rows, c_);
      const int64_t offset = batch_ ? b * rows * c_ : 0;
      if (rows * c_ > 0)
        std::memcpy(p.cls_scores.data(), v.data() + offset, static_cast<size_t>(rows * c_) * sizeof(float));
      if (const auto probs = probs_.find("cls_scores"); probs != probs_.end()) {
        p.cls_probs.resize(rows, c_);
        if (rows * c_ > 0)
          std::memcpy(p.cls_probs.data(), probs->second.data() + offset,
                      static_cast<size_t>(rows * c_) * sizeof(float));
      }
    }
    if (get("objectness")) {
      const std::vector<float>& v = floats_.at("objectness");
      const int64_t offset = batch_ ? b * n_ : 0;
      p.objectness.assign(v.begin() + offset, v.begin() + offset + n_);
      if (const auto probs = probs_.find("objectness"); probs != probs_.end())
        p.objectness_probs.assign(probs->second.begin() + offset, probs->second.begin() + offset + n_);
    }
    if (get("centerness")) {
      const std::vector<float>& v = floats_.at("centerness");
      const int64_t offset = batch_ ? b * n_ : 0;
      p.centerness.assign(v.begin() + offset, v.begin() + offset + n_);
    }
    if (get("pred_dist")) {
      p.pred_dist.resize(n_, dist_cols_);
      slice_rows("pred_dist", b, n_, &p.pred_dist);
    }
    if (get("pred_bboxes")) {
      slice_rows("pred_bboxes", b, n_, &p.pred_bboxes);
      if (cxcywh) {
        p.pred_cxcywh = p.pred_bboxes;
        to_xyxy(&p.pred_bboxes);
      }
      ASSIGNSCOPE_RETURN_IF_ERROR(check_boxes("pred_bboxes", b, p.pred_bboxes, false, &image_warnings_));
    }
    if (get("pred_distances")) {
      Rows4f& d = p.pred_distances;
      slice_rows("pred_distances", b, n_, &d);
      p.pred_bboxes.resize(n_, 4);
      for (int64_t i = 0; i < n_; ++i) {
        const float cx = p.priors(i, 0), cy = p.priors(i, 1);
        p.pred_bboxes.row(i) << cx - d(i, 0), cy - d(i, 1), cx + d(i, 2), cy + d(i, 3);
      }
      p.preds_from_distances = true;
      p.mark(Field::kPredBboxes);
      ASSIGNSCOPE_RETURN_IF_ERROR(check_boxes("pred_distances", b, p.pred_bboxes, false, &image_warnings_));
    }

    // Levels.
    if (const auto it = ints_.find("num_level_priors"); it != ints_.end()) {
      const RawField* f = get("num_level_priors");
      const bool with_b = batch_ && f->array.ndim() == 2;
      const int64_t offset = with_b ? b * l_ : 0;
      p.num_level_priors.assign(it->second.begin() + offset, it->second.begin() + offset + l_);
      int64_t sum = 0;
      for (size_t l = 0; l < p.num_level_priors.size(); ++l) {
        if (p.num_level_priors[l] < 0 || p.num_level_priors[l] > n_)
          return Status::InvalidInput(fmt::format("{} is {}; expected a count in [0, N = {}]",
                                                  element("num_level_priors", b, static_cast<int64_t>(l)),
                                                  p.num_level_priors[l], n_));
        sum += p.num_level_priors[l];
      }
      if (sum != n_)
        return Status::InvalidInput(fmt::format("{}: num_level_priors sums to {}; expected N = {} (the number of priors)",
                                                f->origin, sum, n_));
    } else if (get("priors")) {
      p.num_level_priors = level_counts_from_strides(p.priors);
      if (static_cast<int64_t>(p.num_level_priors.size()) > kMaxLevels)
        return Status::InvalidInput(fmt::format(
            "{}: the stride changes {} times along the priors, so levels read as runs of equal stride number more "
            "than {}; expected priors level by level (or give num_level_priors)",
            get("priors")->origin, p.num_level_priors.size() - 1, kMaxLevels));
      p.levels_inferred = true;
    } else {
      p.num_level_priors = {n_};
      p.levels_inferred = true;
    }
    p.prior_level = levels_from_counts(p.num_level_priors);

    // Ground truth: padding removed.
    if (get("gt_bboxes")) {
      Rows4f boxes;
      slice_rows("gt_bboxes", b, g_, &boxes);
      Rows4f given;
      if (cxcywh) {
        given = boxes;
        to_xyxy(&boxes);
      }
      const std::vector<int64_t>& labels = ints_.at("gt_labels");
      const int64_t label_offset = batch_ ? b * g_ : 0;
      int64_t real = g_;
      if (const auto it = ints_.find("pad_gt_mask"); it != ints_.end()) {
        const int64_t* mask = it->second.data() + b * g_;
        real = 0;
        for (int64_t j = 0; j < g_; ++j) {
          if (mask[j] != 0 && mask[j] != 1)
            return Status::InvalidInput(fmt::format("{} is {}; expected 1 (a real box) or 0 (padding)",
                                                    element("pad_gt_mask", b, j), mask[j]));
          if (mask[j] == 1 && real != j)
            return Status::InvalidInput(fmt::format(
                "{} marks a real box after padding; expected real boxes first and padding at the end, as mmyolo pads",
                element("pad_gt_mask", b, j)));
          real += mask[j];
        }
      }
      p.gt_bboxes = boxes.topRows(real);
      if (cxcywh) p.gt_cxcywh = given.topRows(real);
      if (get("gt_centers")) {
        Rows2f centers;
        slice_rows("gt_centers", b, g_, &centers);
        p.gt_centers = centers.topRows(real);
      }
      p.gt_labels.assign(labels.begin() + label_offset, labels.begin() + label_offset + real);
      p.padding_gt_bboxes = boxes.bottomRows(g_ - real);
      p.padding_gt_labels.assign(labels.begin() + label_offset + real, labels.begin() + label_offset + g_);
      // Padding labels are whatever the padding holds (mmyolo's unit test pads
      // with class 11 of 2): only an assigner that indexes the class scores
      // with them (dynamic-soft-label.mmyolo) checks their range.
      ASSIGNSCOPE_RETURN_IF_ERROR(check_boxes("gt_bboxes", b, p.gt_bboxes, true, nullptr));
      const int64_t classes = c_ >= 0 ? c_ : meta_.num_classes.value_or(-1);
      for (int64_t j = 0; j < real; ++j) {
        const int64_t label = p.gt_labels[j];
        if (label < 0 || (classes >= 0 && label >= classes)) {
          const std::string range = classes >= 0 ? fmt::format("[0, {})", classes) : std::string("[0, C)");
          return Status::InvalidInput(fmt::format("{} is {}; expected a class index in {}{}",
                                                  element("gt_labels", b, j), label, range,
                                                  classes >= 0 && c_ >= 0 ? " (C from cls_scores)" : ""));
        }
      }
    }
    if (get("gt_bboxes_ignore")) {
      const int64_t k = get("gt_bboxes_ignore")->array.ndim() == 2 ? get("gt_bboxes_ignore")->array.shape[0] : 0;
      slice_rows("gt_bboxes_ignore", b, k, &p.gt_bboxes_ignore);
      if (cxcywh) to_xyxy(&p.gt_bboxes_ignore);
      ASSIGNSCOPE_RETURN_IF_ERROR(check_boxes("gt_bboxes_ignore", b, p.gt_bboxes_ignore, true, nullptr));
    }
    for (std::string& w : image_warnings_) raw_.warnings.push_back(std::move(w));
    image_warnings_.clear();
    return p;
  }

  RawDump raw_;
  LoadOptions options_;
  Meta meta_;
  bool batch_ = false;
  int64_t num_images_ = 1;
  std::string batch_origin_;
  int64_t n_ = -1, c_ = -1, g_ = -1, l_ = -1;
  int64_t gt_columns_ = 0;
  bool background_column_ = false;
  int64_t dist_cols_ = 0;
  std::map<const int64_t*, std::string> dim_origin_;
  std::map<std::string, std::vector<float>> floats_;
  std::map<std::string, std::vector<float>> probs_;  // "probs" dumps: scores as given
  std::map<std::string, std::vector<int64_t>> ints_;
  std::vector<std::string> image_warnings_;
};

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
      return Status::InvalidInput(fmt::format("{}: holds more than {} entries; not a dump or a batch of dumps", dir,
                                              kMaxDirEntries));
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
      return Status::InvalidInput(fmt::format("{}: is {}; expected a regular file",
                                              printable(p.string(), 4096, true), file_kind_name(kind)));
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
    auto listed = list_dir(path);
    if (!listed.ok()) return listed.status();
    const DirContents& c = *listed;
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
    return Status::Usage(fmt::format("{}: a single .npy is one field; give the directory that holds the dump's fields",
                                     path));
  return Status::Usage(fmt::format("{}: unknown dump container; expected a directory, an .npz or a .json file", path));
}

// A directory of one-image dumps, in name order.
Result<LoadedDump> read_dump_dirs(const std::string& path, const std::vector<fs::path>& subdirs,
                                  const LoadOptions& options) {
  LoadedDump out;
  out.batch.source = path;
  out.batch.is_batch = true;
  for (const fs::path& sub : subdirs) {
    auto raw = read_single(sub.string(), options);
    if (!raw.ok()) return raw.status();
    auto one = build_batch(std::move(raw).value(), options);
    if (!one.ok()) return one.status();
    if (one->batch.is_batch)
      return Status::InvalidInput(
          fmt::format("{}: is itself a batch; a directory of dumps must hold one-image dumps", sub.string()));
    Problem p = std::move(one->batch.images[0]);
    p.name = sub.filename().string();
    out.batch.gt_columns = std::max(out.batch.gt_columns, p.num_gts());
    out.batch.images.push_back(std::move(p));
    for (std::string& w : one->warnings) out.warnings.push_back(std::move(w));
  }
  return out;
}

}  // namespace

Result<LoadedDump> build_batch(RawDump raw, const LoadOptions& options) {
  const std::string origin = raw.origin;
  return guarded(origin, "loading the dump", [&]() { return Validator(std::move(raw), options).run(); });
}

Result<LoadedDump> load_dump(const std::string& path, const LoadOptions& options) {
  const FileKind kind = file_kind(path);
  const std::string shown = printable(path, 4096, true);
  if (kind == FileKind::kMissing) return Status::Io(fmt::format("{}: no such file or directory", shown));
  if (kind == FileKind::kLinkLoop || kind == FileKind::kBrokenLink || kind == FileKind::kNoAccess)
    return Status::Io(fmt::format("{}: is {}", shown, file_kind_name(kind)));
  if (kind == FileKind::kDirectory) {
    auto listed = list_dir(path);
    if (!listed.ok()) return listed.status();
    const DirContents& c = *listed;
    if (!c.has_fields && c.container.empty() && !c.subdirs.empty()) return read_dump_dirs(path, c.subdirs, options);
  }
  auto raw = read_single(path, options);
  if (!raw.ok()) return raw.status();
  return build_batch(std::move(raw).value(), options);
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

bool has_glob_chars(const std::string& s) { return s.find_first_of("*?[") != std::string::npos; }

// The paths a pattern matches, sorted; an error when none.
Result<std::vector<std::string>> expand_glob(const std::string& pattern) {
  glob_t found{};
  const int rc = ::glob(pattern.c_str(), 0, nullptr, &found);
  std::vector<std::string> paths;
  if (rc == 0)
    for (size_t i = 0; i < found.gl_pathc; ++i) paths.emplace_back(found.gl_pathv[i]);
  ::globfree(&found);
  if (paths.empty()) return Status::Io(fmt::format("{}: no such file or directory, and no path matches it", pattern));
  return paths;
}

}  // namespace

Result<std::vector<std::string>> expand_paths(const std::vector<std::string>& patterns) {
  std::vector<std::string> paths;
  for (const std::string& p : patterns) {
    std::error_code ec;
    if (!has_glob_chars(p) || fs::exists(p, ec)) {
      paths.push_back(p);
      continue;
    }
    auto expanded = expand_glob(p);
    if (!expanded.ok()) return expanded.status();
    paths.insert(paths.end(), expanded->begin(), expanded->end());
  }
  return paths;
}

Result<LoadedDump> load_dumps(const std::vector<std::string>& patterns, const LoadOptions& options) {
  auto expanded = expand_paths(patterns);
  if (!expanded.ok()) return expanded.status();
  const std::vector<std::string>& paths = *expanded;
  if (paths.empty()) return Status::InvalidInput("no dump given");
  if (paths.size() == 1) return load_dump(paths[0], options);
  LoadedDump out;
  out.batch.source = fmt::format("{} dumps", paths.size());
  out.batch.is_batch = true;
  for (const std::string& path : paths) {
    auto one = load_dump(path, options);
    if (!one.ok()) return one.status();
    for (Problem& p : one->batch.images) {
      p.name = one->batch.is_batch ? path + "/" + (p.name.empty() ? "?" : p.name) : path;
      out.batch.gt_columns = std::max(out.batch.gt_columns, p.num_gts());
      out.batch.images.push_back(std::move(p));
    }
    for (std::string& w : one->warnings) out.warnings.push_back(std::move(w));
  }
  return out;
}

}  // namespace assignscope::io
