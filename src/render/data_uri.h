// A data: URI (RFC 2397) carrying a file's bytes in base64 (RFC 4648, with
// padding), so a picture that embeds an image stands alone.
#pragma once

#include <string>
#include <vector>

#include "core/encoded_image.h"

namespace assignscope::render {

// "TWFu" for "Man"; "" for no bytes.
std::string base64(const std::vector<unsigned char>& bytes);

// "data:<mime type>;base64,<the bytes>".
std::string data_uri(const EncodedImage& image);

}  // namespace assignscope::render
