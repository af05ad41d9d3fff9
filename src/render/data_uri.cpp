// base64 and data: URIs for embedded images.
#include "render/data_uri.h"

namespace assignscope::render {

std::string base64(const std::vector<unsigned char>& bytes) {
  static constexpr char kAlphabet[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
  std::string out;
  out.reserve((bytes.size() + 2) / 3 * 4);
  size_t i = 0;
  for (; i + 3 <= bytes.size(); i += 3) {
    const uint32_t v = (uint32_t{bytes[i]} << 16) | (uint32_t{bytes[i + 1]} << 8) | uint32_t{bytes[i + 2]};
    for (int s = 18; s >= 0; s -= 6) out += kAlphabet[(v >> s) & 63u];
  }
  const size_t rest = bytes.size() - i;
  if (rest > 0) {
    uint32_t v = uint32_t{bytes[i]} << 16;
    if (rest == 2) v |= uint32_t{bytes[i + 1]} << 8;
    out += kAlphabet[(v >> 18) & 63u];
    out += kAlphabet[(v >> 12) & 63u];
    out += rest == 2 ? kAlphabet[(v >> 6) & 63u] : '=';
    out += '=';
  }
  return out;
}

std::string data_uri(const EncodedImage& image) { return "data:" + image.mime_type + ";base64," + base64(image.bytes); }

}  // namespace assignscope::render
