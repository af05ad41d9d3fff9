// Text from files made safe for a one-line message; JSON as text.
#pragma once

#include <string>
#include <string_view>

#include <nlohmann/json_fwd.hpp>

namespace assignscope {

// Control bytes become \xNN (so a name can never start a new line), and so do
// bytes >= 0x80 unless `keep_utf8` (for names, which are usually UTF-8).
// Longer text is cut at `max_len` characters with "...".
std::string printable(std::string_view text, size_t max_len = 200, bool keep_utf8 = false);

// A JSON value for a message: scalars as JSON text (cut short), containers
// by their kind ("a JSON array of 3"), never serialised whole — a deeply
// nested value would recurse.
std::string json_snippet(const nlohmann::json& value);

// JSON text of `j` (`indent` as nlohmann's dump). Strings that are not
// valid UTF-8 (a path's bytes) are written with U+FFFD in place of each bad
// byte instead of failing.
std::string json_text(const nlohmann::ordered_json& j, int indent = 1);

}  // namespace assignscope
