// The containers of a dump read into raw fields: a directory of .npy files,
// an .npz (zip), a JSON document.
#include "io/dump_containers.h"

#include <algorithm>
#include <filesystem>

#include <fmt/format.h>

#include "core/guarded.h"
#include "core/text.h"
#include "io/dump_fields.h"
#include "io/file_kind.h"
#include "io/files.h"
#include "io/image_header.h"
#include "io/memory.h"
#include "io/zip.h"

namespace assignscope::io {
namespace fs = std::filesystem;

namespace {

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
        const size_t line =
            1 + static_cast<size_t>(std::count(text.begin(), text.begin() + static_cast<std::ptrdiff_t>(at), '\n'));
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

// A dump's own file (a field's .npy, meta.json) must be a regular file (or a
// link to one): a FIFO would block the read, a device never end, a link loop
// or a directory there is a broken dump, said as such rather than "missing".
Status expect_regular(const fs::path& path, const char* what) {
  const FileKind kind = file_kind(path.string());
  if (kind == FileKind::kRegular) return Status();
  return Status::InvalidInput(fmt::format("{}: is {}; expected {} (a regular file)",
                                          printable(path.string(), 4096, true), file_kind_name(kind), what));
}

// A dump holds one image at most: image.png or image.jpg, not both.
Status one_image(const std::string& origin, const std::string& first, const std::string& second) {
  return Status::InvalidInput(
      fmt::format("{}: holds both {} and {}; expected one image at most", origin, first, second));
}

}  // namespace

Result<RawDump> read_npy_dir(const std::string& dir, const LoadOptions& options) {
  RawDump raw;
  raw.origin = dir;
  std::error_code ec;
  std::vector<fs::path> files;
  std::vector<fs::path> images;
  fs::directory_iterator it(dir, ec), end;
  size_t seen = 0;
  for (; !ec && it != end; it.increment(ec)) {
    if (++seen > kMaxDirEntries)
      return Status::InvalidInput(fmt::format("{}: holds more than {} entries; not a dump", dir, kMaxDirEntries));
    const fs::path path = it->path();
    if (is_image_file_name(path.filename().string())) {
      ASSIGNSCOPE_RETURN_IF_ERROR(expect_regular(path, "the dump's image"));
      images.push_back(path);
      continue;
    }
    if (path.extension() != ".npy") continue;
    ASSIGNSCOPE_RETURN_IF_ERROR(expect_regular(path, "a field's .npy file"));
    files.push_back(path);
  }
  if (ec) return Status::Io(fmt::format("{}: cannot list: {}", dir, ec.message()));
  std::sort(files.begin(), files.end());
  std::sort(images.begin(), images.end());
  if (images.size() > 1)
    return one_image(printable(dir, 4096, true), images[0].filename().string(), images[1].filename().string());
  // The files share one budget: each is checked against what the ones
  // before it left.
  MemoryBudget budget = memory_budget(options.memory_limit);
  for (const fs::path& f : files) {
    ASSIGNSCOPE_ASSIGN_OR_RETURN(auto array, read_npy_file(f.string(), budget));
    budget.bytes -= std::min<uint64_t>(budget.bytes, array.data.size());
    ASSIGNSCOPE_RETURN_IF_ERROR(
        add_field(&raw, f.stem().string(), std::move(array), printable(f.string(), 4096, true)));
  }
  for (const fs::path& f : images) {
    ASSIGNSCOPE_ASSIGN_OR_RETURN(auto bytes, read_file_bytes(f.string(), budget));
    budget.bytes -= std::min<uint64_t>(budget.bytes, bytes.size());
    ASSIGNSCOPE_ASSIGN_OR_RETURN(auto image, encoded_image(std::move(bytes), f.filename().string(),
                                                           printable(f.string(), 4096, true)));
    raw.image = std::move(image);
  }
  const fs::path meta = fs::path(dir) / "meta.json";
  if (file_kind(meta.string()) != FileKind::kMissing || fs::is_symlink(meta, ec)) {
    ASSIGNSCOPE_RETURN_IF_ERROR(expect_regular(meta, "meta.json"));
    // A few hundred bytes; the cap keeps a mistaken meta.json (a link to a
    // dataset) from being read whole.
    MemoryBudget meta_budget = budget;
    meta_budget.bytes = std::min<uint64_t>(budget.bytes, uint64_t{16} << 20);
    if (meta_budget.bytes < budget.bytes) meta_budget.source = "the size meta.json may have";
    ASSIGNSCOPE_ASSIGN_OR_RETURN(auto text, read_file_text(meta.string(), meta_budget));
    ASSIGNSCOPE_ASSIGN_OR_RETURN(auto j, parse_json_text(text, meta.string()));
    raw.meta = std::move(j);
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
  ASSIGNSCOPE_ASSIGN_OR_RETURN(auto header, parse_npy_header(head->data(), head->size(), origin));
  if (header.total_bytes() != entry.uncompressed_size)
    return Status::Corrupt(fmt::format(
        "{}: the .npy header declares shape {} {}, {} bytes with the header, but the archive declares {} bytes "
        "for the member; refused before inflating it",
        origin, shape_string(header.shape), header.dtype.descr(), header.total_bytes(), entry.uncompressed_size));
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
  ASSIGNSCOPE_ASSIGN_OR_RETURN(auto entries, list_zip(bytes, path, budget));
  RawDump raw;
  raw.origin = path;
  // Every header before any data: a member whose header and directory entry
  // disagree is refused before the others are inflated.
  const ZipEntry* image_entry = nullptr;
  for (const ZipEntry& e : entries) {
    const std::string origin = path + ":" + printable(e.name, 200, true);
    if (is_image_file_name(e.name)) {
      if (image_entry) return one_image(path, image_entry->name, e.name);
      image_entry = &e;
      continue;
    }
    if (!is_npy_member(e.name)) {
      raw.warnings.push_back(fmt::format("{}: member is not an .npy array; ignored", origin));
      continue;
    }
    ASSIGNSCOPE_RETURN_IF_ERROR(check_member_header(bytes, e, path, origin));
  }
  for (const ZipEntry& e : entries) {
    if (!is_npy_member(e.name)) continue;
    const std::string origin = path + ":" + printable(e.name, 200, true);
    ASSIGNSCOPE_ASSIGN_OR_RETURN(auto data, read_zip_member(bytes, e, path));
    ASSIGNSCOPE_ASSIGN_OR_RETURN(auto array, parse_npy(std::move(data), origin));
    const std::string name = e.name.substr(0, e.name.size() - 4);
    if (name == "meta") {
      const DTypeKind k = array.dtype.kind;
      if ((k != DTypeKind::kUnicode && k != DTypeKind::kBytes) || array.size() != 1)
        return Status::InvalidInput(
            fmt::format("{}: dtype {} shape {}; expected a 0-d string array holding the meta JSON", origin,
                        array.dtype.descr(), shape_string(array.shape)));
      ASSIGNSCOPE_ASSIGN_OR_RETURN(auto j, parse_json_text(array.to_text(), origin));
      raw.meta = std::move(j);
      raw.meta_origin = origin;
      continue;
    }
    ASSIGNSCOPE_RETURN_IF_ERROR(add_field(&raw, name, std::move(array), origin));
  }
  if (image_entry) {
    const std::string origin = path + ":" + image_entry->name;
    ASSIGNSCOPE_ASSIGN_OR_RETURN(auto data, read_zip_member(bytes, *image_entry, path));
    ASSIGNSCOPE_ASSIGN_OR_RETURN(auto image, encoded_image(std::move(data), image_entry->name, origin));
    raw.image = std::move(image);
  }
  return raw;
}

}  // namespace

Result<RawDump> parse_npz(const std::vector<unsigned char>& bytes, const std::string& path,
                          const LoadOptions& options) {
  return guarded(path, "loading the dump", [&]() { return parse_npz_impl(bytes, path, options); });
}

Result<RawDump> read_npz(const std::string& path, const LoadOptions& options) {
  ASSIGNSCOPE_ASSIGN_OR_RETURN(auto bytes, read_file_bytes(path, memory_budget(options.memory_limit)));
  return parse_npz(bytes, path, options);
}

namespace {

// No field of the contract has more than 3 dimensions; deeper nesting is
// refused before it can exhaust the stack.
constexpr size_t kMaxJsonDepth = 8;

// Shape and values of a nested JSON list; numbers only.
Status json_shape(const nlohmann::json& j, size_t depth, std::vector<int64_t>* shape, const std::string& origin,
                  std::vector<int64_t>* at) {
  if (depth > kMaxJsonDepth)
    return Status::InvalidInput(
        fmt::format("{}: lists nested deeper than {} levels; expected at most [B, N, C]", origin, kMaxJsonDepth));
  auto where = [&]() {
    std::string s;
    for (int64_t i : *at) s += (s.empty() ? "[" : ", ") + std::to_string(i);
    return s.empty() ? std::string() : s + "]";
  };
  if (j.is_array()) {
    if (depth == shape->size()) {
      if (depth > 0 && !at->empty() && std::any_of(at->begin(), at->end(), [](int64_t i) { return i > 0; }))
        return Status::InvalidInput(
            fmt::format("{}{}: ragged nested list (a list where a number was expected)", origin, where()));
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
    return Status::InvalidInput(
        fmt::format("{}{}: null where a number was expected (a NaN written by a JSON library?)", origin, where()));
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
    all_int = all_int &&
              ((v.is_number_integer() && !(v.is_number_unsigned() && v.get<uint64_t>() > INT64_MAX)) || v.is_boolean());
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
    return Status::InvalidInput(
        over_budget(fmt::format("{}: {} of JSON text, parsed, may need", origin, format_bytes(text.size())),
                    parsed_bytes, budget) +
        "; refused before parsing it (an .npz holds large dumps in 4 bytes a float)");
  ASSIGNSCOPE_ASSIGN_OR_RETURN(auto parsed, parse_json_text(text, origin));
  nlohmann::json& j = parsed;
  if (!j.is_object())
    return Status::InvalidInput(
        fmt::format("{}: top level is a JSON {}; expected an object with 'meta' and one key per field", origin,
                    j.type_name()));
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
    ASSIGNSCOPE_ASSIGN_OR_RETURN(auto array, json_to_array(it.value(), field_origin));
    ASSIGNSCOPE_RETURN_IF_ERROR(add_field(&raw, it.key(), std::move(array), field_origin));
  }
  return raw;
}

}  // namespace

Result<RawDump> parse_json_dump(const std::string& text, const std::string& origin, const LoadOptions& options) {
  return guarded(origin, "loading the dump", [&]() { return parse_json_dump_impl(text, origin, options); });
}

Result<RawDump> read_json_dump(const std::string& path, const LoadOptions& options) {
  ASSIGNSCOPE_ASSIGN_OR_RETURN(auto text, read_file_text(path, memory_budget(options.memory_limit)));
  return parse_json_dump(text, path, options);
}

}  // namespace assignscope::io
