// The HTML report's page, as source files in src/render/report_assets/
// (report.html, report.css, report.js), embedded into the binary at build
// time by cmake/EmbedAssets.cmake: nothing is read at run time.
#pragma once

#include <string_view>

namespace assignscope::render {

// The embedded file `name` ("report.js"); "" for a name not embedded.
std::string_view report_asset(std::string_view name);

}  // namespace assignscope::render
