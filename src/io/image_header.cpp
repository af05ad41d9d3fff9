// A dump's image: its format from the signature, its size from the header.
#include "io/image_header.h"

#include <algorithm>
#include <cstdint>

#include <fmt/format.h>

namespace assignscope::io {

namespace {

constexpr unsigned char kPngSignature[8] = {0x89, 'P', 'N', 'G', '\r', '\n', 0x1A, '\n'};

uint32_t be32(const unsigned char* p) {
  return (uint32_t{p[0]} << 24) | (uint32_t{p[1]} << 16) | (uint32_t{p[2]} << 8) | uint32_t{p[3]};
}
uint32_t be16(const unsigned char* p) { return (uint32_t{p[0]} << 8) | uint32_t{p[1]}; }

// PNG: the signature, then the IHDR chunk first: length 13, "IHDR", width
// and height as 4-byte big-endian integers (at most 2^31 - 1).
Status read_png_size(const std::vector<unsigned char>& b, const std::string& origin, EncodedImage* image) {
  if (b.size() < 8 || !std::equal(kPngSignature, kPngSignature + 8, b.begin()))
    return Status::InvalidInput(
        fmt::format("{}: not a PNG file; expected the PNG signature 89 50 4E 47 0D 0A 1A 0A", origin));
  if (b.size() < 8 + 8 + 13)
    return Status::Corrupt(
        fmt::format("{}: {} bytes; expected a PNG header of at least 29 bytes (the signature and the IHDR chunk)",
                    origin, b.size()));
  if (be32(&b[8]) != 13 || !std::equal(b.begin() + 12, b.begin() + 16, "IHDR"))
    return Status::Corrupt(fmt::format("{}: expected the PNG's first chunk to be IHDR of 13 bytes", origin));
  const uint32_t width = be32(&b[16]), height = be32(&b[20]);
  if (width == 0 || height == 0 || width > INT32_MAX || height > INT32_MAX)
    return Status::InvalidInput(
        fmt::format("{}: the PNG header declares {} x {} pixels (width x height); expected both in [1, 2^31 - 1]",
                    origin, width, height));
  image->mime_type = "image/png";
  image->width = width;
  image->height = height;
  return Status();
}

// SOF0..SOF15 but DHT (C4), JPG (C8) and DAC (CC): the frame header.
bool is_sof(unsigned char m) { return m >= 0xC0 && m <= 0xCF && m != 0xC4 && m != 0xC8 && m != 0xCC; }

// JPEG: SOI (FF D8), then segments, each FF <marker> [length, 2 bytes BE,
// counting itself] up to the frame header SOFn: precision (1 byte), height,
// width (2 bytes BE each). Markers without a length (TEM, RSTn) are skipped,
// as are fill bytes (FF); the walk ends at the end of the bytes.
Status read_jpeg_size(const std::vector<unsigned char>& b, const std::string& origin, EncodedImage* image) {
  if (b.size() < 3 || b[0] != 0xFF || b[1] != 0xD8 || b[2] != 0xFF)
    return Status::InvalidInput(fmt::format("{}: not a JPEG file; expected the JPEG signature FF D8 FF", origin));
  const auto cut = [&](const char* what) {
    return Status::Corrupt(
        fmt::format("{}: the JPEG ends after {} bytes, {}; expected a complete frame header (SOFn) with the image "
                    "size",
                    origin, b.size(), what));
  };
  size_t at = 2;
  while (true) {
    if (at >= b.size()) return cut("before its frame header");
    if (b[at] != 0xFF)
      return Status::Corrupt(
          fmt::format("{}: byte {} is {:02X}; expected a JPEG marker (FF) before the frame header", origin, at, b[at]));
    while (at < b.size() && b[at] == 0xFF) ++at;  // fill bytes
    if (at >= b.size()) return cut("before its frame header");
    const unsigned char marker = b[at++];
    if (marker == 0x01 || (marker >= 0xD0 && marker <= 0xD7)) continue;  // no length
    if (marker == 0xD9 || marker == 0xDA || marker == 0xD8)
      return Status::Corrupt(fmt::format(
          "{}: JPEG marker FF {:02X} at byte {} before any frame header; expected a SOFn header with the image size",
          origin, marker, at - 2));
    if (at + 2 > b.size()) return cut("inside a segment's length");
    const size_t length = be16(&b[at]);
    if (length < 2)
      return Status::Corrupt(fmt::format("{}: JPEG segment FF {:02X} at byte {} has length {}; expected at least 2",
                                         origin, marker, at - 2, length));
    if (is_sof(marker)) {
      if (length < 8 || at + 7 > b.size()) return cut("inside its frame header");
      const uint32_t height = be16(&b[at + 3]), width = be16(&b[at + 5]);
      if (width == 0 || height == 0)
        return Status::InvalidInput(fmt::format(
            "{}: the JPEG frame header declares {} x {} pixels (width x height); expected both positive (a height "
            "given later by a DNL marker is not supported)",
            origin, width, height));
      image->mime_type = "image/jpeg";
      image->width = width;
      image->height = height;
      return Status();
    }
    at += length;
  }
}

}  // namespace

const std::vector<std::string>& image_file_names() {
  static const std::vector<std::string> kNames = {"image.png", "image.jpg"};
  return kNames;
}

bool is_image_file_name(const std::string& name) {
  const auto& k = image_file_names();
  return std::find(k.begin(), k.end(), name) != k.end();
}

Result<EncodedImage> encoded_image(std::vector<unsigned char> bytes, const std::string& name,
                                   const std::string& origin) {
  EncodedImage image;
  if (name == "image.png") {
    ASSIGNSCOPE_RETURN_IF_ERROR(read_png_size(bytes, origin, &image));
  } else if (name == "image.jpg") {
    ASSIGNSCOPE_RETURN_IF_ERROR(read_jpeg_size(bytes, origin, &image));
  } else {
    return Status::InvalidInput(fmt::format("{}: expected an image named image.png or image.jpg", origin));
  }
  image.bytes = std::move(bytes);
  image.origin = origin;
  return image;
}

}  // namespace assignscope::io
