// The network's input image as a dump may carry it (docs/format.md, the
// optional image.png / image.jpg): the file's bytes, never decoded, and the
// pixel size read from its header, for renderers to draw under the boxes.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

namespace assignscope {

struct EncodedImage {
  std::string mime_type;             // "image/png" or "image/jpeg"
  std::vector<unsigned char> bytes;  // the file as stored
  int64_t width = 0, height = 0;     // pixels, from the PNG IHDR / the JPEG SOFn header
  std::string origin;                // "case/image.png", "dump.npz:image.jpg"
};

}  // namespace assignscope
