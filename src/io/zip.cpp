// Zip archive reading for .npz: end-of-central-directory search (zip64 too), stored and deflate members, CRC checks.
#include "io/zip.h"

#include <algorithm>
#include <cstring>
#include <limits>
#include <new>
#include <set>
#include <utility>

#define ZLIB_CONST
#include <zlib.h>

#include "core/guarded.h"
#include "core/text.h"

namespace assignscope::io {
namespace detail {
namespace {

constexpr uint32_t kEndOfCentralDirSig = 0x06054b50;
constexpr uint32_t kZip64EndSig = 0x06064b50;
constexpr uint32_t kZip64LocatorSig = 0x07064b50;
constexpr uint32_t kCentralHeaderSig = 0x02014b50;
constexpr uint32_t kLocalHeaderSig = 0x04034b50;
constexpr size_t kEndOfCentralDirLen = 22;
constexpr size_t kZip64EndLen = 56;
constexpr size_t kZip64LocatorLen = 20;
constexpr size_t kCentralHeaderLen = 46;
constexpr size_t kLocalHeaderLen = 30;
constexpr size_t kMaxCommentLen = 0xffff;
constexpr uint16_t kZip64ExtraId = 0x0001;
constexpr uint16_t kFlagEncrypted = 0x0001;
constexpr uint16_t kFlagStrongEncryption = 0x0040;
constexpr uint16_t kMethodStored = 0;
constexpr uint16_t kMethodDeflate = 8;
constexpr size_t kZlibChunk = size_t{1} << 30;  // zlib counts in 32-bit uInt
constexpr size_t kInitialInflateBytes = size_t{1} << 16;

uint16_t load_u16(const unsigned char* p) { return static_cast<uint16_t>(p[0] | (p[1] << 8)); }

uint32_t load_u32(const unsigned char* p) {
  return static_cast<uint32_t>(p[0]) | (static_cast<uint32_t>(p[1]) << 8) | (static_cast<uint32_t>(p[2]) << 16) |
         (static_cast<uint32_t>(p[3]) << 24);
}

uint64_t load_u64(const unsigned char* p) {
  return static_cast<uint64_t>(load_u32(p)) | (static_cast<uint64_t>(load_u32(p + 4)) << 32);
}

// True when [offset, offset + length) lies inside a buffer of `size` bytes.
bool in_bounds(uint64_t offset, uint64_t length, uint64_t size) { return offset <= size && length <= size - offset; }

std::string hex32(uint32_t value, int digits = 8) {
  static const char kHex[] = "0123456789abcdef";
  std::string out = "0x";
  for (int shift = 4 * (digits - 1); shift >= 0; shift -= 4) out += kHex[(value >> shift) & 0xf];
  return out;
}

// A member name made safe for a one-line message (control bytes escaped).
std::string method_name(uint16_t method) {
  std::string name;
  switch (method) {
    case 1: name = "shrink"; break;
    case 6: name = "implode"; break;
    case 9: name = "deflate64"; break;
    case 12: name = "bzip2"; break;
    case 14: name = "LZMA"; break;
    case 93: name = "zstd"; break;
    case 95: name = "xz"; break;
    case 99: name = "AES-encrypted"; break;
    default: break;
  }
  return "compression method " + std::to_string(method) + (name.empty() ? "" : " (" + name + ")");
}

// What the central directory says about one member, plus where its data is.
struct Entry {
  std::string name;
  uint16_t flags = 0;
  uint16_t method = 0;
  uint32_t crc = 0;
  uint64_t compressed_size = 0;
  uint64_t uncompressed_size = 0;
  uint64_t local_offset = 0;
  uint32_t disk_start = 0;
  uint64_t data_offset = 0;  // filled from the local header
};

struct Directory {
  uint64_t offset = 0;
  uint64_t size = 0;
  uint64_t entries = 0;
  uint64_t end = 0;  // where the records after the directory begin
};

// Locates the end-of-central-directory record (and the zip64 one when there
// is a locator) and reads where the central directory is.
Status find_directory(const std::vector<unsigned char>& bytes, const std::string& origin, Directory* dir) {
  const size_t size = bytes.size();
  const auto corrupt = [&](const std::string& msg) { return Status::Corrupt(origin + ": " + msg); };
  if (size < kEndOfCentralDirLen)
    return corrupt("no end-of-central-directory record: " + std::to_string(size) +
                   " bytes, expected a zip archive (.npz) of at least 22 bytes; not a zip archive, or truncated");

  // Scan backwards: the record is followed by a comment of up to 65535 bytes.
  // Prefer a record whose comment reaches exactly the end of the file.
  const size_t last = size - kEndOfCentralDirLen;
  const size_t first = last > kMaxCommentLen ? last - kMaxCommentLen : 0;
  size_t found = size;
  size_t fallback = size;
  for (size_t pos = last + 1; pos-- > first;) {
    if (load_u32(bytes.data() + pos) != kEndOfCentralDirSig) continue;
    const size_t comment_len = load_u16(bytes.data() + pos + 20);
    if (pos + kEndOfCentralDirLen + comment_len == size) {
      found = pos;
      break;
    }
    if (fallback == size && pos + kEndOfCentralDirLen + comment_len <= size) fallback = pos;
  }
  if (found == size) found = fallback;
  if (found == size) return corrupt("no end-of-central-directory record found: not a zip archive, or truncated");

  const unsigned char* eocd = bytes.data() + found;
  const uint16_t disk = load_u16(eocd + 4);
  const uint16_t cd_disk = load_u16(eocd + 6);
  const uint16_t entries_here = load_u16(eocd + 8);
  const uint16_t entries_total = load_u16(eocd + 10);
  dir->size = load_u32(eocd + 12);
  dir->offset = load_u32(eocd + 16);
  dir->entries = entries_total;
  dir->end = found;

  const bool has_locator =
      found >= kZip64LocatorLen && load_u32(bytes.data() + found - kZip64LocatorLen) == kZip64LocatorSig;
  if (!has_locator) {
    if (disk != 0 || cd_disk != 0 || entries_here != entries_total)
      return Status::Unsupported(origin + ": multi-disk (spanned) zip archive (disk " + std::to_string(disk) +
                                 ", directory on disk " + std::to_string(cd_disk) +
                                 "); expected a single-file archive");
    return Status();
  }

  const unsigned char* locator = bytes.data() + found - kZip64LocatorLen;
  const uint32_t zip64_disk = load_u32(locator + 4);
  const uint64_t zip64_offset = load_u64(locator + 8);
  const uint32_t total_disks = load_u32(locator + 16);
  if (zip64_disk != 0 || total_disks > 1)
    return Status::Unsupported(origin + ": multi-disk (spanned) zip64 archive (" + std::to_string(total_disks) +
                               " disks); expected a single-file archive");
  const size_t locator_pos = found - kZip64LocatorLen;
  if (!in_bounds(zip64_offset, kZip64EndLen, locator_pos))
    return corrupt("zip64 end-of-central-directory record at offset " + std::to_string(zip64_offset) +
                   " lies outside the archive (" + std::to_string(size) + " bytes)");
  const unsigned char* rec = bytes.data() + zip64_offset;
  if (load_u32(rec) != kZip64EndSig)
    return corrupt("no zip64 end-of-central-directory record at offset " + std::to_string(zip64_offset) +
                   " where the zip64 locator points");
  const uint32_t disk64 = load_u32(rec + 16);
  const uint32_t cd_disk64 = load_u32(rec + 20);
  const uint64_t entries_here64 = load_u64(rec + 24);
  const uint64_t entries_total64 = load_u64(rec + 32);
  if (disk64 != 0 || cd_disk64 != 0 || entries_here64 != entries_total64)
    return Status::Unsupported(origin + ": multi-disk (spanned) zip64 archive (disk " + std::to_string(disk64) +
                               ", directory on disk " + std::to_string(cd_disk64) +
                               "); expected a single-file archive");
  dir->entries = entries_total64;
  dir->size = load_u64(rec + 40);
  dir->offset = load_u64(rec + 48);
  dir->end = zip64_offset;
  return Status();
}

// Reads the zip64 extended-information extra field (id 0x0001): the 64-bit
// values present are exactly those whose 32/16-bit fields are all ones.
Status apply_zip64_extra(const unsigned char* extra, size_t length, Entry* entry, bool need_uncompressed,
                         bool need_compressed, bool need_offset, bool need_disk, const std::string& where) {
  const auto corrupt = [&](const std::string& msg) { return Status::Corrupt(where + ": " + msg); };
  size_t pos = 0;
  while (length - pos >= 4) {
    const uint16_t id = load_u16(extra + pos);
    const size_t field_len = load_u16(extra + pos + 2);
    pos += 4;
    if (field_len > length - pos)
      return corrupt("extra field " + hex32(id, 4) + " of " + std::to_string(field_len) +
                     " bytes runs past the end of the extra data (" + std::to_string(length - pos) + " bytes left)");
    if (id == kZip64ExtraId) {
      const unsigned char* field = extra + pos;
      size_t used = 0;
      const auto take64 = [&](uint64_t* value) {
        if (field_len - used < 8) return false;
        *value = load_u64(field + used);
        used += 8;
        return true;
      };
      bool ok = true;
      if (need_uncompressed) ok = ok && take64(&entry->uncompressed_size);
      if (need_compressed) ok = ok && take64(&entry->compressed_size);
      if (need_offset) ok = ok && take64(&entry->local_offset);
      if (ok && need_disk) {
        if (field_len - used < 4) {
          ok = false;
        } else {
          entry->disk_start = load_u32(field + used);
        }
      }
      if (!ok)
        return corrupt("zip64 extra field of " + std::to_string(field_len) +
                       " bytes is too short for the 64-bit sizes/offset the header defers to it");
      return Status();
    }
    pos += field_len;
  }
  if (need_uncompressed || need_compressed || need_offset || need_disk)
    return corrupt("header defers its size/offset to a zip64 extra field, but it has none");
  return Status();
}

// Walks the central directory and each member's local header; checks every
// offset and length against the buffer. No member data is touched.
Status read_directory(const std::vector<unsigned char>& bytes, const std::string& origin, const Directory& dir,
                      std::vector<Entry>* entries) {
  const auto corrupt = [&](const std::string& msg) { return Status::Corrupt(origin + ": " + msg); };
  const uint64_t size = bytes.size();
  if (!in_bounds(dir.offset, dir.size, dir.end))
    return corrupt("central directory (offset " + std::to_string(dir.offset) + ", " + std::to_string(dir.size) +
                   " bytes) lies outside the archive (" + std::to_string(dir.end) +
                   " bytes before the end record); truncated or not a zip archive");
  if (dir.entries > dir.size / kCentralHeaderLen)
    return corrupt("central directory of " + std::to_string(dir.size) + " bytes cannot hold the " +
                   std::to_string(dir.entries) + " entries the end record declares");
  entries->reserve(static_cast<size_t>(dir.entries));

  const uint64_t cd_end = dir.offset + dir.size;
  uint64_t pos = dir.offset;
  std::set<std::string> names;
  for (uint64_t index = 0; index < dir.entries; ++index) {
    if (!in_bounds(pos, kCentralHeaderLen, cd_end) || load_u32(bytes.data() + pos) != kCentralHeaderSig)
      return corrupt("central directory entry " + std::to_string(index) + " at offset " + std::to_string(pos) +
                     " is missing or truncated; expected " + std::to_string(dir.entries) + " entries");
    const unsigned char* h = bytes.data() + pos;
    Entry entry;
    entry.flags = load_u16(h + 8);
    entry.method = load_u16(h + 10);
    entry.crc = load_u32(h + 16);
    const uint32_t compressed32 = load_u32(h + 20);
    const uint32_t uncompressed32 = load_u32(h + 24);
    const size_t name_len = load_u16(h + 28);
    const size_t extra_len = load_u16(h + 30);
    const size_t comment_len = load_u16(h + 32);
    const uint16_t disk16 = load_u16(h + 34);
    const uint32_t offset32 = load_u32(h + 42);
    const uint64_t record_len = kCentralHeaderLen + name_len + extra_len + comment_len;
    if (!in_bounds(pos, record_len, cd_end))
      return corrupt("central directory entry " + std::to_string(index) + " (" + std::to_string(record_len) +
                     " bytes) runs past the end of the central directory");
    entry.name.assign(reinterpret_cast<const char*>(h + kCentralHeaderLen), name_len);
    entry.compressed_size = compressed32;
    entry.uncompressed_size = uncompressed32;
    entry.local_offset = offset32;
    entry.disk_start = disk16;
    const std::string where = origin + ":" + printable(entry.name, 200, true);
    ASSIGNSCOPE_RETURN_IF_ERROR(apply_zip64_extra(h + kCentralHeaderLen + name_len, extra_len, &entry,
                                                  uncompressed32 == 0xffffffffu, compressed32 == 0xffffffffu,
                                                  offset32 == 0xffffffffu, disk16 == 0xffffu, where));
    pos += record_len;

    if (!entry.name.empty() && entry.name.back() == '/') continue;  // a directory
    if (!names.insert(entry.name).second)
      return corrupt("duplicate member name '" + printable(entry.name, 200, true) + "'; expected unique names");
    if (entry.disk_start != 0)
      return Status::Unsupported(where + ": member stored on disk " + std::to_string(entry.disk_start) +
                                 " of a multi-disk archive; expected a single-file archive");
    if ((entry.flags & (kFlagEncrypted | kFlagStrongEncryption)) != 0)
      return Status::Unsupported(where + ": member is encrypted; expected an unencrypted archive");
    if (entry.method != kMethodStored && entry.method != kMethodDeflate)
      return Status::Unsupported(where + ": " + method_name(entry.method) +
                                 "; expected stored (0) or deflate (8) as np.savez writes");
    if (entry.method == kMethodStored && entry.compressed_size != entry.uncompressed_size)
      return Status::Corrupt(where + ": stored member has compressed size " + std::to_string(entry.compressed_size) +
                             " but uncompressed size " + std::to_string(entry.uncompressed_size) +
                             "; expected them equal");

    // The local header: skip it by its own name and extra lengths.
    if (!in_bounds(entry.local_offset, kLocalHeaderLen, size) ||
        load_u32(bytes.data() + entry.local_offset) != kLocalHeaderSig)
      return Status::Corrupt(where + ": no local header at offset " + std::to_string(entry.local_offset) +
                             " (archive is " + std::to_string(size) + " bytes); truncated or corrupt");
    const unsigned char* local = bytes.data() + entry.local_offset;
    const size_t local_name_len = load_u16(local + 26);
    const size_t local_extra_len = load_u16(local + 28);
    const uint64_t header_len = kLocalHeaderLen + local_name_len + local_extra_len;
    if (!in_bounds(entry.local_offset, header_len, size))
      return Status::Corrupt(where + ": local header at offset " + std::to_string(entry.local_offset) +
                             " runs past the end of the archive");
    if (local_name_len != name_len || std::memcmp(local + kLocalHeaderLen, h + kCentralHeaderLen, name_len) != 0)
      return Status::Corrupt(
          where + ": local header names '" +
          printable(std::string(reinterpret_cast<const char*>(local + kLocalHeaderLen), local_name_len), 200, true) +
          "'; expected the central directory's name");
    entry.data_offset = entry.local_offset + header_len;
    if (!in_bounds(entry.data_offset, entry.compressed_size, size))
      return Status::Corrupt(where + ": member data (offset " + std::to_string(entry.data_offset) + ", " +
                             std::to_string(entry.compressed_size) + " bytes) runs past the end of the archive (" +
                             std::to_string(size) + " bytes); truncated");
    entries->push_back(std::move(entry));
  }
  if (pos != cd_end)
    return corrupt("central directory declares " + std::to_string(dir.size) + " bytes but its " +
                   std::to_string(dir.entries) + " entries use " + std::to_string(pos - dir.offset));
  return Status();
}

uint32_t crc32_of(const unsigned char* data, size_t size) {
  uLong crc = crc32(0L, Z_NULL, 0);
  while (size > 0) {
    const size_t chunk = std::min(size, kZlibChunk);
    crc = crc32(crc, data, static_cast<uInt>(chunk));
    data += chunk;
    size -= chunk;
  }
  return static_cast<uint32_t>(crc);
}

// Owns a raw-inflate stream.
class Inflater {
 public:
  Inflater() { ok_ = inflateInit2(&stream_, -MAX_WBITS) == Z_OK; }
  ~Inflater() {
    if (ok_) inflateEnd(&stream_);
  }
  Inflater(const Inflater&) = delete;
  Inflater& operator=(const Inflater&) = delete;
  bool ok() const { return ok_; }
  z_stream& stream() { return stream_; }

 private:
  z_stream stream_{};
  bool ok_ = false;
};

// Inflates a raw deflate stream that must produce exactly `expected` bytes,
// or only its first `limit` bytes when `limit` is smaller. The output grows
// as data arrives, so a member that merely claims a large size costs
// nothing; producing more than claimed stops the inflation.
Status inflate_member(const unsigned char* in, uint64_t in_size, uint64_t expected, uint64_t limit,
                      const std::string& where, std::vector<unsigned char>* out) {
  Inflater inflater;
  if (!inflater.ok()) return Status::Io(where + ": cannot initialise zlib (out of memory?)");
  z_stream& s = inflater.stream();
  const bool prefix_only = limit < expected;
  const uint64_t wanted = prefix_only ? limit : expected;
  uint64_t in_left = in_size;
  size_t produced = 0;
  unsigned char probe = 0;  // one byte past the declared size, to detect overruns
  for (;;) {
    if (s.avail_in == 0 && in_left > 0) {
      const size_t chunk = static_cast<size_t>(std::min<uint64_t>(in_left, kZlibChunk));
      s.next_in = in;
      s.avail_in = static_cast<uInt>(chunk);
      in += chunk;
      in_left -= chunk;
    }
    const bool probing = produced == wanted;
    if (probing && prefix_only) break;
    if (!probing && produced == out->size()) {
      const uint64_t grown = std::max<uint64_t>(uint64_t{out->size()} * 2, kInitialInflateBytes);
      out->resize(static_cast<size_t>(std::min(grown, wanted)));
    }
    s.next_out = probing ? &probe : out->data() + produced;
    s.avail_out = probing ? 1 : static_cast<uInt>(std::min(out->size() - produced, kZlibChunk));
    const uInt avail_before = s.avail_out;
    const int ret = inflate(&s, Z_NO_FLUSH);
    const size_t written = avail_before - s.avail_out;
    if (probing && written > 0)
      return Status::Corrupt(where + ": deflate data inflates to more than the " + std::to_string(expected) +
                             " bytes the central directory declares");
    produced += written;
    if (ret == Z_STREAM_END) break;
    if (ret == Z_OK) continue;
    if (ret == Z_BUF_ERROR && s.avail_in == 0 && in_left == 0)
      return Status::Corrupt(where + ": deflate data ends before the end of its stream after " +
                             std::to_string(produced) + " bytes; truncated");
    if (ret == Z_MEM_ERROR) return Status::Io(where + ": out of memory inflating the member");
    const std::string reason = s.msg != nullptr ? s.msg : "error " + std::to_string(ret);
    return Status::Corrupt(where + ": deflate data is corrupt (zlib: " + reason + ")");
  }
  if (produced != wanted)  // the stream ended early (a prefix's too)
    return Status::Corrupt(where + ": deflate data inflates to " + std::to_string(produced) +
                           " bytes but the central directory declares " + std::to_string(expected));
  out->resize(produced);
  return Status();
}

std::string member_origin(const std::string& origin, const std::string& name) {
  return origin + ":" + printable(name, 200, true);
}

Result<std::vector<ZipEntry>> list_zip_impl(const std::vector<unsigned char>& bytes, const std::string& origin,
                                            const MemoryBudget& budget) {
  Directory dir;
  ASSIGNSCOPE_RETURN_IF_ERROR(find_directory(bytes, origin, &dir));
  std::vector<Entry> entries;
  ASSIGNSCOPE_RETURN_IF_ERROR(read_directory(bytes, origin, dir, &entries));

  // Declared sizes, before anything is inflated: what deflate can produce
  // from the compressed bytes, and what the budget allows.
  std::vector<ZipEntry> out;
  out.reserve(entries.size());
  uint64_t total = 0;
  for (const Entry& entry : entries) {
    const std::string where = member_origin(origin, entry.name);
    if (entry.method == kMethodDeflate) {
      const uint64_t most = entry.compressed_size > (UINT64_MAX - 1024) / kMaxDeflateRatio
                                ? UINT64_MAX
                                : entry.compressed_size * kMaxDeflateRatio + 1024;
      if (entry.uncompressed_size > most)
        return Status::Corrupt(where + ": member declares " + std::to_string(entry.uncompressed_size) +
                               " uncompressed bytes from " + std::to_string(entry.compressed_size) +
                               " compressed bytes; deflate cannot expand more than " +
                               std::to_string(kMaxDeflateRatio) + " to 1");
    }
    if (entry.uncompressed_size > budget.bytes)
      return Status::InvalidInput(over_budget(where + ": member declares", entry.uncompressed_size, budget) +
                                  "; refused before inflating it");
    const bool wrapped = total + entry.uncompressed_size < total;
    total += entry.uncompressed_size;
    if (wrapped || total > budget.bytes)
      return Status::InvalidInput(
          over_budget(origin + ": the members up to '" + printable(entry.name, 200, true) + "' declare",
                      wrapped ? UINT64_MAX : total, budget) +
          "; refused before inflating them");
    ZipEntry e;
    e.name = entry.name;
    e.method = entry.method;
    e.crc = entry.crc;
    e.compressed_size = entry.compressed_size;
    e.uncompressed_size = entry.uncompressed_size;
    e.data_offset = entry.data_offset;
    out.push_back(std::move(e));
  }
  return out;
}

Result<std::vector<unsigned char>> read_member_impl(const std::vector<unsigned char>& bytes, const ZipEntry& entry,
                                                    const std::string& origin, uint64_t max_bytes) {
  const std::string where = member_origin(origin, entry.name);
  if (!in_bounds(entry.data_offset, entry.compressed_size, bytes.size()))
    return Status::Corrupt(where + ": member data lies outside the archive");
  const unsigned char* data = bytes.data() + entry.data_offset;
  const bool whole = max_bytes >= entry.uncompressed_size;
  std::vector<unsigned char> out;
  if (entry.method == kMethodStored) {
    const uint64_t take = whole ? entry.compressed_size : std::min(max_bytes, entry.compressed_size);
    out.assign(data, data + take);
  } else if (entry.method == kMethodDeflate) {
    ASSIGNSCOPE_RETURN_IF_ERROR(
        inflate_member(data, entry.compressed_size, entry.uncompressed_size, max_bytes, where, &out));
  } else {
    return Status::Unsupported(where + ": " + method_name(entry.method) +
                               "; expected stored (0) or deflate (8) as np.savez writes");
  }
  if (whole) {
    const uint32_t crc = crc32_of(out.data(), out.size());
    if (crc != entry.crc)
      return Status::Corrupt(where + ": CRC-32 mismatch: data has " + hex32(crc) + ", the central directory expects " +
                             hex32(entry.crc) + "; corrupt archive");
  }
  return out;
}

}  // namespace
}  // namespace detail

Result<std::vector<ZipEntry>> list_zip(const std::vector<unsigned char>& bytes, const std::string& origin,
                                       const MemoryBudget& budget) {
  return guarded(origin, "reading the archive", [&]() { return detail::list_zip_impl(bytes, origin, budget); });
}

Result<std::vector<unsigned char>> read_zip_member(const std::vector<unsigned char>& bytes, const ZipEntry& entry,
                                                   const std::string& origin, uint64_t max_bytes) {
  return guarded(origin, "reading the archive",
                 [&]() { return detail::read_member_impl(bytes, entry, origin, max_bytes); });
}

Result<std::vector<ZipMember>> read_zip(const std::vector<unsigned char>& bytes, const std::string& origin,
                                        const MemoryBudget& budget) {
  ASSIGNSCOPE_ASSIGN_OR_RETURN(const std::vector<ZipEntry> entries, list_zip(bytes, origin, budget));
  std::vector<ZipMember> members;
  members.reserve(entries.size());
  for (const ZipEntry& entry : entries) {
    ASSIGNSCOPE_ASSIGN_OR_RETURN(std::vector<unsigned char> data, read_zip_member(bytes, entry, origin));
    members.push_back(ZipMember{entry.name, std::move(data)});
  }
  return members;
}

}  // namespace assignscope::io
