// Image files written byte by byte for the tests of a dump's image field:
// a real PNG of one colour (zlib's deflate and CRC-32, so renderers decode
// it) and a JPEG header (SOI, an APP0 segment to walk past, SOF0, EOI).
#pragma once

#include <zlib.h>

#include <array>
#include <cstdint>
#include <string>
#include <vector>

#include <doctest/doctest.h>

namespace assignscope::testing {

inline void put_be32(std::vector<unsigned char>* out, uint32_t v) {
  for (int s = 24; s >= 0; s -= 8) out->push_back(static_cast<unsigned char>(v >> s));
}

inline void png_chunk(std::vector<unsigned char>* out, const std::string& type,
                      const std::vector<unsigned char>& data) {
  put_be32(out, static_cast<uint32_t>(data.size()));
  std::vector<unsigned char> typed(type.begin(), type.end());
  typed.insert(typed.end(), data.begin(), data.end());
  out->insert(out->end(), typed.begin(), typed.end());
  put_be32(out, static_cast<uint32_t>(crc32(0L, typed.data(), static_cast<uInt>(typed.size()))));
}

// An 8-bit RGB PNG of width x height pixels, all `rgb`.
inline std::vector<unsigned char> solid_png(uint32_t width, uint32_t height, std::array<unsigned char, 3> rgb) {
  std::vector<unsigned char> png = {0x89, 'P', 'N', 'G', '\r', '\n', 0x1A, '\n'};
  std::vector<unsigned char> ihdr;
  put_be32(&ihdr, width);
  put_be32(&ihdr, height);
  ihdr.insert(ihdr.end(), {8, 2, 0, 0, 0});  // bit depth 8, RGB, deflate, filter 0, not interlaced
  png_chunk(&png, "IHDR", ihdr);
  std::vector<unsigned char> raw;
  raw.reserve(size_t{height} * (1 + size_t{width} * 3));
  for (uint32_t y = 0; y < height; ++y) {
    raw.push_back(0);  // filter: none
    for (uint32_t x = 0; x < width; ++x) raw.insert(raw.end(), rgb.begin(), rgb.end());
  }
  uLongf size = compressBound(static_cast<uLong>(raw.size()));
  std::vector<unsigned char> idat(size);
  REQUIRE(compress(idat.data(), &size, raw.data(), static_cast<uLong>(raw.size())) == Z_OK);
  idat.resize(size);
  png_chunk(&png, "IDAT", idat);
  png_chunk(&png, "IEND", {});
  return png;
}

// SOI, an APP0 (JFIF) segment, SOF0 declaring width x height (3 components),
// EOI: the header a reader of the size needs, without any scan.
inline std::vector<unsigned char> jpeg_header(uint16_t width, uint16_t height) {
  std::vector<unsigned char> j = {0xFF, 0xD8};
  j.insert(j.end(),
           {0xFF, 0xE0, 0x00, 0x10, 'J', 'F', 'I', 'F', 0x00, 0x01, 0x01, 0x00, 0x00, 0x01, 0x00, 0x01, 0x00, 0x00});
  j.insert(j.end(),
           {0xFF, 0xC0, 0x00, 0x11, 0x08, static_cast<unsigned char>(height >> 8),
            static_cast<unsigned char>(height & 0xFF), static_cast<unsigned char>(width >> 8),
            static_cast<unsigned char>(width & 0xFF), 0x03, 0x01, 0x22, 0x00, 0x02, 0x11, 0x01, 0x03, 0x11, 0x01});
  j.insert(j.end(), {0xFF, 0xD9});
  return j;
}

}  // namespace assignscope::testing
