// Writing test inputs byte by byte: .npy headers, raw deflate streams and
// zip archives as np.savez writes them (zip64 sizes in every header), with
// whatever sizes and CRCs the members declare — for the hostile-input tests.
#pragma once

#include <zlib.h>

#include <cstdint>
#include <fstream>
#include <string>
#include <vector>

#include <doctest/doctest.h>

namespace assignscope::testing {

inline constexpr uint64_t kMiB = uint64_t{1} << 20;
inline constexpr uint64_t kGiB = uint64_t{1} << 30;

inline void write_bytes(const std::string& path, const std::vector<unsigned char>& bytes) {
  std::ofstream out(path, std::ios::binary);
  out.write(reinterpret_cast<const char*>(bytes.data()), static_cast<std::streamsize>(bytes.size()));
  REQUIRE(out.good());
}

inline void append(std::vector<unsigned char>* out, const void* data, size_t size) {
  const auto* p = static_cast<const unsigned char*>(data);
  out->insert(out->end(), p, p + size);
}

// A format 1.0 .npy header (magic to '\n', 64-byte aligned) for any shape.
inline std::vector<unsigned char> npy_header(const std::string& descr, const std::string& shape) {
  std::string dict = "{'descr': '" + descr + "', 'fortran_order': False, 'shape': " + shape + ", }";
  const size_t unpadded = 10 + dict.size() + 1;
  dict.append((64 - unpadded % 64) % 64, ' ');
  dict += '\n';
  std::vector<unsigned char> out = {0x93, 'N', 'U', 'M', 'P', 'Y', 1, 0};
  out.push_back(static_cast<unsigned char>(dict.size() & 0xff));
  out.push_back(static_cast<unsigned char>(dict.size() >> 8));
  append(&out, dict.data(), dict.size());
  return out;
}

// Raw deflate (as zip stores it) of `head` followed by `zeros` zero bytes
// (a multiple of 1 MiB), without compressing them: one block of 1 MiB of
// zeros, made independent of what precedes it by a full flush, is repeated.
// About 1 KiB of stream a MiB; `crc` gets the CRC-32 of the whole.
inline std::vector<unsigned char> deflate_bomb(const std::vector<unsigned char>& head, uint64_t zeros, uint32_t* crc) {
  REQUIRE(zeros % kMiB == 0);
  z_stream s{};
  REQUIRE(deflateInit2(&s, 9, Z_DEFLATED, -MAX_WBITS, 9, Z_DEFAULT_STRATEGY) == Z_OK);
  std::vector<unsigned char> buffer(4 * kMiB);
  const auto run = [&](const unsigned char* in, size_t size, int flush) {
    s.next_in = const_cast<unsigned char*>(in);
    s.avail_in = static_cast<uInt>(size);
    s.next_out = buffer.data();
    s.avail_out = static_cast<uInt>(buffer.size());
    REQUIRE(deflate(&s, flush) != Z_STREAM_ERROR);
    REQUIRE(s.avail_in == 0);
    return std::vector<unsigned char>(buffer.data(), buffer.data() + (buffer.size() - s.avail_out));
  };
  const std::vector<unsigned char> mib(kMiB, 0);
  std::vector<unsigned char> stream = run(head.data(), head.size(), Z_FULL_FLUSH);
  const std::vector<unsigned char> block = run(mib.data(), mib.size(), Z_FULL_FLUSH);
  for (uint64_t i = 0; i < zeros / kMiB; ++i) stream.insert(stream.end(), block.begin(), block.end());
  const std::vector<unsigned char> end = run(nullptr, 0, Z_FINISH);
  stream.insert(stream.end(), end.begin(), end.end());
  deflateEnd(&s);

  uLong c = crc32(0L, head.data(), static_cast<uInt>(head.size()));
  const uLong mib_crc = crc32(0L, mib.data(), static_cast<uInt>(mib.size()));
  for (uint64_t i = 0; i < zeros / kMiB; ++i) c = crc32_combine(c, mib_crc, static_cast<z_off_t>(kMiB));
  *crc = static_cast<uint32_t>(c);
  return stream;
}

struct Member {
  std::string name;
  uint16_t method = 8;
  uint32_t crc = 0;
  std::vector<unsigned char> data;  // as stored (compressed for deflate)
  uint64_t declared_size = 0;       // uncompressed, as the directory declares it
};

inline void put16(std::vector<unsigned char>* out, uint64_t v) {
  for (int i = 0; i < 2; ++i) out->push_back(static_cast<unsigned char>(v >> (8 * i)));
}
inline void put32(std::vector<unsigned char>* out, uint64_t v) {
  for (int i = 0; i < 4; ++i) out->push_back(static_cast<unsigned char>(v >> (8 * i)));
}
inline void put64(std::vector<unsigned char>* out, uint64_t v) {
  for (int i = 0; i < 8; ++i) out->push_back(static_cast<unsigned char>(v >> (8 * i)));
}

// A zip archive as np.savez writes it (zip64 sizes in every header), with
// whatever sizes and CRCs the members declare.
inline std::vector<unsigned char> zip_archive(const std::vector<Member>& members) {
  std::vector<unsigned char> out, directory;
  for (const Member& m : members) {
    const uint64_t offset = out.size();
    const auto zip64_extra = [&](std::vector<unsigned char>* h, bool with_offset) {
      put16(h, 1);
      put16(h, with_offset ? 24 : 16);
      put64(h, m.declared_size);
      put64(h, m.data.size());
      if (with_offset) put64(h, offset);
    };
    put32(&out, 0x04034b50);
    put16(&out, 45);
    put16(&out, 0);
    put16(&out, m.method);
    put32(&out, 0);
    put32(&out, m.crc);
    put32(&out, 0xffffffffu);
    put32(&out, 0xffffffffu);
    put16(&out, m.name.size());
    put16(&out, 20);
    append(&out, m.name.data(), m.name.size());
    zip64_extra(&out, false);
    append(&out, m.data.data(), m.data.size());

    put32(&directory, 0x02014b50);
    put16(&directory, 45);
    put16(&directory, 45);
    put16(&directory, 0);
    put16(&directory, m.method);
    put32(&directory, 0);
    put32(&directory, m.crc);
    put32(&directory, 0xffffffffu);
    put32(&directory, 0xffffffffu);
    put16(&directory, m.name.size());
    put16(&directory, 28);
    put16(&directory, 0);
    put16(&directory, 0);
    put16(&directory, 0);
    put32(&directory, 0);
    put32(&directory, 0xffffffffu);
    append(&directory, m.name.data(), m.name.size());
    zip64_extra(&directory, true);
  }
  const uint64_t directory_offset = out.size();
  append(&out, directory.data(), directory.size());
  put32(&out, 0x06054b50);
  put16(&out, 0);
  put16(&out, 0);
  put16(&out, members.size());
  put16(&out, members.size());
  put32(&out, directory.size());
  put32(&out, directory_offset);
  put16(&out, 0);
  return out;
}

// Raw deflate (as zip stores it) of `bytes`; `crc` gets their CRC-32.
inline std::vector<unsigned char> deflate_raw(const std::vector<unsigned char>& bytes, uint32_t* crc) {
  z_stream s{};
  REQUIRE(deflateInit2(&s, 9, Z_DEFLATED, -MAX_WBITS, 9, Z_DEFAULT_STRATEGY) == Z_OK);
  std::vector<unsigned char> out(deflateBound(&s, static_cast<uLong>(bytes.size())) + 64);
  s.next_in = const_cast<unsigned char*>(bytes.data());
  s.avail_in = static_cast<uInt>(bytes.size());
  s.next_out = out.data();
  s.avail_out = static_cast<uInt>(out.size());
  REQUIRE(deflate(&s, Z_FINISH) == Z_STREAM_END);
  out.resize(out.size() - s.avail_out);
  deflateEnd(&s);
  *crc = static_cast<uint32_t>(crc32(0L, bytes.data(), static_cast<uInt>(bytes.size())));
  return out;
}

// A deflated .npz member holding `header` + `body` as given.
inline Member deflated_member(const std::string& name, const std::vector<unsigned char>& header,
                              const std::vector<unsigned char>& body) {
  std::vector<unsigned char> whole = header;
  whole.insert(whole.end(), body.begin(), body.end());
  Member m;
  m.name = name;
  m.data = deflate_raw(whole, &m.crc);
  m.declared_size = whole.size();
  return m;
}

}  // namespace assignscope::testing
