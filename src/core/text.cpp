// printable(): escaping for one-line messages.
#include "core/text.h"

#include <nlohmann/json.hpp>

namespace assignscope {

std::string printable(std::string_view text, size_t max_len, bool keep_utf8) {
  static const char kHex[] = "0123456789abcdef";
  std::string out;
  for (const char ch : text) {
    if (out.size() >= max_len) {
      out += "...";
      break;
    }
    const auto c = static_cast<unsigned char>(ch);
    if ((c >= 0x20 && c < 0x7f) || (keep_utf8 && c >= 0x80)) {
      out += ch;
    } else {
      out += "\\x";
      out += kHex[c >> 4];
      out += kHex[c & 0xf];
    }
  }
  return out;
}

std::string json_snippet(const nlohmann::json& value) {
  if (value.is_array()) return "a JSON array of " + std::to_string(value.size());
  if (value.is_object()) return "a JSON object";
  return printable(value.dump(), 80, true);
}

std::string json_text(const nlohmann::ordered_json& j, int indent) {
  return j.dump(indent, ' ', false, nlohmann::ordered_json::error_handler_t::replace);
}

}  // namespace assignscope
