// The optional input image of a dump (docs/format.md): image.png or
// image.jpg beside the fields. Its bytes are kept as stored, never decoded;
// only the header is read, for the pixel size: a PNG's IHDR chunk, a JPEG's
// SOFn frame header (found by walking the segments, never past the end).
#pragma once

#include <string>
#include <vector>

#include "core/encoded_image.h"
#include "core/status.h"

namespace assignscope::io {

// The file names a dump's image may have: "image.png", "image.jpg".
const std::vector<std::string>& image_file_names();
bool is_image_file_name(const std::string& name);

// The image in `bytes`, stored under `name` (one of image_file_names(); the
// extension says which format is expected). kInvalidInput when the signature
// is not that format's, kCorrupt when the header is cut short, kInvalidInput
// when it declares a zero width or height. `origin` names the file.
Result<EncodedImage> encoded_image(std::vector<unsigned char> bytes, const std::string& name,
                                   const std::string& origin);

}  // namespace assignscope::io
