// The optional input image of a dump (image.png / image.jpg): its bytes kept,
// its size read from the header and checked against meta.image_size, in a
// directory of .npy files and in an .npz; every refusal one line, exit 2.
#include <doctest/doctest.h>

#include <zlib.h>

#include <filesystem>
#include <string>
#include <vector>

#include "image_files.h"
#include "io/dump.h"
#include "io/image_header.h"
#include "render/data_uri.h"
#include "test_support.h"
#include "zip_writer.h"

namespace assignscope {
namespace {
namespace fs = std::filesystem;

constexpr const char* kCase = "testdata/coco640-late-g12-objectness";  // meta.image_size [640, 640]

// A copy of the 640 x 640 demo case, with `files` added (name, bytes).
void copy_case(const testing::TempDir& tmp,
               const std::vector<std::pair<std::string, std::vector<unsigned char>>>& files) {
  for (const auto& entry : fs::directory_iterator(testing::source_path(kCase)))
    if (entry.is_regular_file()) fs::copy_file(entry.path(), fs::path(tmp.path()) / entry.path().filename());
  for (const auto& [name, bytes] : files) testing::write_bytes(tmp.path(name), bytes);
}

// `run <dir> -a simota` refused: exit 2, one line naming `file`, holding `words`.
void check_refused(const testing::TempDir& tmp, const std::string& file, const std::vector<std::string>& words) {
  const testing::CliRun r = testing::run_cli("run '" + tmp.path() + "' -a simota");
  CAPTURE(r.err);
  CHECK(r.exit_code == 2);
  CHECK(r.out.empty());
  CHECK(testing::count_lines(r.err) == 1);
  CHECK(r.err.find(file) != std::string::npos);
  for (const std::string& w : words) {
    CAPTURE(w);
    CHECK(r.err.find(w) != std::string::npos);
  }
}

}  // namespace

TEST_CASE("image field: a PNG's and a JPEG's size come from their headers, the bytes are kept as stored") {
  const std::vector<unsigned char> png = testing::solid_png(7, 5, {255, 0, 0});
  auto image = io::encoded_image(png, "image.png", "x/image.png");
  REQUIRE_MESSAGE(image.ok(), image.status().message());
  CHECK(image->mime_type == "image/png");
  CHECK(image->width == 7);
  CHECK(image->height == 5);
  CHECK(image->bytes == png);

  const std::vector<unsigned char> jpeg = testing::jpeg_header(1333, 800);
  image = io::encoded_image(jpeg, "image.jpg", "x/image.jpg");
  REQUIRE_MESSAGE(image.ok(), image.status().message());
  CHECK(image->mime_type == "image/jpeg");
  CHECK(image->width == 1333);
  CHECK(image->height == 800);
  CHECK(image->bytes == jpeg);
}

TEST_CASE("image field: bad signatures, cut headers and zero sizes are one-line errors naming the file") {
  const std::vector<unsigned char> png = testing::solid_png(7, 5, {0, 0, 0});
  const std::vector<unsigned char> jpeg = testing::jpeg_header(7, 5);
  testing::check_error(io::encoded_image(jpeg, "image.png", "d/image.png").status(), ErrorKind::kInvalidInput,
                       "d/image.png: ", {"not a PNG", "signature"});
  testing::check_error(io::encoded_image(png, "image.jpg", "d/image.jpg").status(), ErrorKind::kInvalidInput,
                       "d/image.jpg: ", {"not a JPEG", "signature"});
  testing::check_error(io::encoded_image({png.begin(), png.begin() + 20}, "image.png", "d/image.png").status(),
                       ErrorKind::kCorrupt, "d/image.png: ", {"20 bytes", "IHDR"});
  testing::check_error(io::encoded_image({}, "image.png", "d/image.png").status(), ErrorKind::kInvalidInput,
                       "d/image.png: ", {"not a PNG"});
  // Cut after the APP0 segment, in SOF0's length, and in SOF0 before the width's last byte.
  for (const size_t keep : {size_t{20}, size_t{22}, size_t{24}, size_t{28}}) {
    CAPTURE(keep);
    testing::check_error(io::encoded_image({jpeg.begin(), jpeg.begin() + static_cast<std::ptrdiff_t>(keep)},
                                           "image.jpg", "d/image.jpg")
                             .status(),
                         ErrorKind::kCorrupt, "d/image.jpg: ", {"JPEG ends", "frame header"});
  }
  // SOI then EOI: no frame header at all.
  testing::check_error(io::encoded_image({0xFF, 0xD8, 0xFF, 0xD9}, "image.jpg", "d/image.jpg").status(),
                       ErrorKind::kCorrupt, "d/image.jpg: ", {"FF D9", "before any frame header"});
  testing::check_error(io::encoded_image(testing::jpeg_header(0, 5), "image.jpg", "d/image.jpg").status(),
                       ErrorKind::kInvalidInput, "d/image.jpg: ", {"0 x 5"});
  std::vector<unsigned char> zero_png = png;
  zero_png[16] = zero_png[17] = zero_png[18] = zero_png[19] = 0;  // width 0
  testing::check_error(io::encoded_image(zero_png, "image.png", "d/image.png").status(), ErrorKind::kInvalidInput,
                       "d/image.png: ", {"0 x 5"});
}

TEST_CASE("image field: a dump directory's image.png and image.jpg reach the Problem, checked against image_size") {
  for (const char* name : {"image.png", "image.jpg"}) {
    CAPTURE(name);
    const std::vector<unsigned char> bytes =
        std::string(name) == "image.png" ? testing::solid_png(640, 640, {10, 20, 30}) : testing::jpeg_header(640, 640);
    testing::TempDir tmp;
    copy_case(tmp, {{name, bytes}});
    auto d = io::load_dump(tmp.path());
    REQUIRE_MESSAGE(d.ok(), d.status().message());
    REQUIRE(d->batch.images.size() == 1);
    REQUIRE(d->batch.images[0].image.has_value());
    CHECK(d->batch.images[0].image->bytes == bytes);
    CHECK(d->batch.images[0].image->width == 640);
    CHECK(d->warnings.empty());
    // And the replay is what it is without the image (both run as ".", so the paths match).
    testing::TempDir plain;
    copy_case(plain, {});
    const testing::CliRun with = testing::run_cli("run . -a simota --format json", tmp.path());
    const testing::CliRun without = testing::run_cli("run . -a simota --format json", plain.path());
    CHECK(with.exit_code == 0);
    CHECK(with.out == without.out);
  }
}

TEST_CASE("image field: an .npz member image.png is read like the directory's file") {
  std::vector<testing::Member> members;
  const auto stored = [&](const std::string& name, std::vector<unsigned char> data) {
    testing::Member m;
    m.name = name;
    m.method = 0;
    m.crc = static_cast<uint32_t>(crc32(0L, data.data(), static_cast<uInt>(data.size())));
    m.declared_size = data.size();
    m.data = std::move(data);
    members.push_back(std::move(m));
  };
  for (const char* field :
       {"priors", "num_level_priors", "cls_scores", "objectness", "pred_bboxes", "gt_bboxes", "gt_labels"})
    stored(std::string(field) + ".npy", testing::source_bytes(std::string(kCase) + "/" + field + ".npy"));
  const std::string meta = R"({"version": 1, "image_size": [640, 640]})";
  std::vector<unsigned char> meta_npy = testing::npy_header("<U" + std::to_string(meta.size()), "()");
  for (const char c : meta) testing::put32(&meta_npy, static_cast<unsigned char>(c));
  stored("meta.npy", meta_npy);
  stored("image.png", testing::solid_png(640, 640, {1, 2, 3}));
  testing::TempDir tmp;
  testing::write_bytes(tmp.path("d.npz"), testing::zip_archive(members));
  auto d = io::load_dump(tmp.path("d.npz"));
  REQUIRE_MESSAGE(d.ok(), d.status().message());
  REQUIRE(d->batch.images[0].image.has_value());
  CHECK(d->batch.images[0].image->mime_type == "image/png");
  CHECK(d->warnings.empty());

  stored("image.jpg", testing::jpeg_header(640, 640));
  testing::write_bytes(tmp.path("two.npz"), testing::zip_archive(members));
  testing::check_error(io::load_dump(tmp.path("two.npz")).status(), ErrorKind::kInvalidInput, tmp.path("two.npz"),
                       {"image.png and image.jpg", "one image at most"});
}

TEST_CASE("cli: a dump's image that is not its input is refused in one line, exit 2") {
  SUBCASE("a size other than meta.image_size") {
    testing::TempDir tmp;
    copy_case(tmp, {{"image.png", testing::solid_png(320, 640, {0, 0, 0})}});
    check_refused(tmp, "image.png", {"640 x 320 pixels (height x width)", "expected meta.image_size [640, 640]"});
  }
  SUBCASE("a JPEG of another size") {
    testing::TempDir tmp;
    copy_case(tmp, {{"image.jpg", testing::jpeg_header(640, 480)}});
    check_refused(tmp, "image.jpg", {"480 x 640", "meta.image_size"});
  }
  SUBCASE("a header cut short") {
    testing::TempDir tmp;
    const std::vector<unsigned char> png = testing::solid_png(640, 640, {0, 0, 0});
    copy_case(tmp, {{"image.png", {png.begin(), png.begin() + 12}}});
    check_refused(tmp, "image.png", {"12 bytes", "IHDR"});
  }
  SUBCASE("a JPEG named .png") {
    testing::TempDir tmp;
    copy_case(tmp, {{"image.png", testing::jpeg_header(640, 640)}});
    check_refused(tmp, "image.png", {"not a PNG"});
  }
  SUBCASE("both image.png and image.jpg") {
    testing::TempDir tmp;
    copy_case(tmp,
              {{"image.png", testing::solid_png(640, 640, {0, 0, 0})}, {"image.jpg", testing::jpeg_header(640, 640)}});
    check_refused(tmp, tmp.path(), {"image.jpg and image.png", "one image at most"});
  }
}

TEST_CASE("image field: base64 as RFC 4648 writes it, in a data: URI") {
  const auto b64 = [](const std::string& s) { return render::base64(std::vector<unsigned char>(s.begin(), s.end())); };
  CHECK(b64("") == "");
  CHECK(b64("M") == "TQ==");
  CHECK(b64("Ma") == "TWE=");
  CHECK(b64("Man") == "TWFu");
  CHECK(b64("foobar") == "Zm9vYmFy");
  CHECK(render::base64({0xFF, 0xFE, 0xFD}) == "//79");
  EncodedImage image;
  image.mime_type = "image/png";
  image.bytes = {'M', 'a'};
  CHECK(render::data_uri(image) == "data:image/png;base64,TWE=");
}

}  // namespace assignscope
