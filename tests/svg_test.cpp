// SVG pictures (render/svg.h): the drawn elements counted against the
// assignment on hand-made problems and on every golden result, positions
// and colours worked out by hand, XML well-formedness, escaping, crowds, the
// diff picture, a real renderer (rsvg-convert), and `run --format svg`.
#include <doctest/doctest.h>

#include <unistd.h>
#include <zlib.h>

#include <chrono>
#include <cmath>
#include <limits>
#include <filesystem>
#include <map>
#include <set>
#include <sstream>

#include <fmt/format.h>
#include <nlohmann/json.hpp>

#include "analysis/stats.h"
#include "io/dump.h"
#include "io/npy.h"
#include "render/data_uri.h"
#include "render/svg.h"
#include "image_files.h"
#include "test_support.h"
#include "zip_writer.h"

namespace assignscope {
namespace {

namespace fs = std::filesystem;
namespace layout = render::svg_layout;

// --- a small XML reader: enough to prove well-formedness and to count ----------

struct XmlElement {
  std::string name;
  std::map<std::string, std::string> attributes;  // entity references decoded
  std::string text;                               // direct character data, decoded
  bool has_class(const std::string& c) const {
    const auto it = attributes.find("class");
    if (it == attributes.end()) return false;
    std::istringstream words(it->second);
    std::string w;
    while (words >> w)
      if (w == c) return true;
    return false;
  }
  double number(const std::string& attribute) const {
    const auto it = attributes.find(attribute);
    REQUIRE_MESSAGE(it != attributes.end(), (name + " has no " + attribute));
    return std::stod(it->second);
  }
  std::string attr(const std::string& attribute) const {
    const auto it = attributes.find(attribute);
    return it == attributes.end() ? "" : it->second;
  }
};

struct XmlDocument {
  std::string error;                 // empty: well-formed
  std::vector<XmlElement> elements;  // in document order
};

void append_utf8(std::string& out, uint32_t cp) {
  if (cp < 0x80) {
    out += static_cast<char>(cp);
  } else if (cp < 0x800) {
    out += static_cast<char>(0xC0 | (cp >> 6)), out += static_cast<char>(0x80 | (cp & 0x3F));
  } else if (cp < 0x10000) {
    out += static_cast<char>(0xE0 | (cp >> 12)), out += static_cast<char>(0x80 | ((cp >> 6) & 0x3F));
    out += static_cast<char>(0x80 | (cp & 0x3F));
  } else {
    out += static_cast<char>(0xF0 | (cp >> 18)), out += static_cast<char>(0x80 | ((cp >> 12) & 0x3F));
    out += static_cast<char>(0x80 | ((cp >> 6) & 0x3F)), out += static_cast<char>(0x80 | (cp & 0x3F));
  }
}

bool valid_utf8(const std::string& s) {
  for (size_t i = 0; i < s.size();) {
    const auto c = static_cast<unsigned char>(s[i]);
    size_t len = c < 0x80 ? 1 : (c & 0xE0) == 0xC0 ? 2 : (c & 0xF0) == 0xE0 ? 3 : (c & 0xF8) == 0xF0 ? 4 : 0;
    if (len == 0 || i + len > s.size()) return false;
    if (len == 1 && c < 0x20 && c != '\n' && c != '\t' && c != '\r') return false;  // not an XML character
    for (size_t k = 1; k < len; ++k)
      if ((static_cast<unsigned char>(s[i + k]) & 0xC0) != 0x80) return false;
    i += len;
  }
  return true;
}

// Character data or an attribute value with its references decoded; false
// on a bare '&', an unknown entity or a '<'.
bool decode(const std::string& raw, std::string* out) {
  out->clear();
  for (size_t i = 0; i < raw.size(); ++i) {
    if (raw[i] == '<') return false;
    if (raw[i] != '&') {
      *out += raw[i];
      continue;
    }
    const size_t semi = raw.find(';', i);
    if (semi == std::string::npos) return false;
    const std::string ref = raw.substr(i + 1, semi - i - 1);
    if (ref == "amp") *out += '&';
    else if (ref == "lt") *out += '<';
    else if (ref == "gt") *out += '>';
    else if (ref == "quot") *out += '"';
    else if (ref == "apos") *out += '\'';
    else if (ref.size() > 2 && ref[0] == '#' && ref[1] == 'x')
      append_utf8(*out, static_cast<uint32_t>(std::stoul(ref.substr(2), nullptr, 16)));
    else if (ref.size() > 1 && ref[0] == '#') append_utf8(*out, static_cast<uint32_t>(std::stoul(ref.substr(1))));
    else return false;
    i = semi;
  }
  return true;
}

bool name_char(char c, bool first) {
  return std::isalpha(static_cast<unsigned char>(c)) || c == '_' || c == ':' ||
         (!first && (std::isdigit(static_cast<unsigned char>(c)) || c == '-' || c == '.'));
}

XmlDocument parse_xml(const std::string& s) {
  XmlDocument doc;
  const auto fail = [&](const std::string& why, size_t at) {
    doc.error = why + " at byte " + std::to_string(at);
    return doc;
  };
  if (!valid_utf8(s)) return fail("not UTF-8 XML characters", 0);
  size_t i = 0;
  if (s.compare(0, 5, "<?xml") == 0) {
    i = s.find("?>");
    if (i == std::string::npos) return fail("unterminated declaration", 0);
    i += 2;
  }
  std::vector<size_t> open;  // indices into elements
  int roots = 0;
  while (i < s.size()) {
    if (s[i] != '<') {
      const size_t next = s.find('<', i);
      const std::string raw = s.substr(i, next == std::string::npos ? std::string::npos : next - i);
      std::string text;
      if (!decode(raw, &text)) return fail("bad character data", i);
      if (open.empty()) {
        if (text.find_first_not_of(" \n\r\t") != std::string::npos) return fail("text outside the root", i);
      } else {
        doc.elements[open.back()].text += text;
      }
      if (next == std::string::npos) break;
      i = next;
      continue;
    }
    if (s.compare(i, 4, "<!--") == 0) {
      const size_t end = s.find("-->", i + 4);
      if (end == std::string::npos) return fail("unterminated comment", i);
      i = end + 3;
      continue;
    }
    if (s.compare(i, 2, "</") == 0) {
      size_t j = i + 2;
      while (j < s.size() && name_char(s[j], j == i + 2)) ++j;
      const std::string name = s.substr(i + 2, j - i - 2);
      while (j < s.size() && std::isspace(static_cast<unsigned char>(s[j]))) ++j;
      if (j >= s.size() || s[j] != '>') return fail("bad end tag", i);
      if (open.empty() || doc.elements[open.back()].name != name) return fail("mismatched </" + name + ">", i);
      open.pop_back();
      i = j + 1;
      continue;
    }
    // A start tag.
    size_t j = i + 1;
    if (j >= s.size() || !name_char(s[j], true)) return fail("bad tag name", i);
    while (j < s.size() && name_char(s[j], false)) ++j;
    XmlElement e;
    e.name = s.substr(i + 1, j - i - 1);
    if (open.empty() && ++roots > 1) return fail("a second root element", i);
    bool self_closing = false;
    for (;;) {
      const size_t before = j;
      while (j < s.size() && std::isspace(static_cast<unsigned char>(s[j]))) ++j;
      if (j >= s.size()) return fail("unterminated tag", i);
      if (s[j] == '>') {
        ++j;
        break;
      }
      if (s.compare(j, 2, "/>") == 0) {
        j += 2;
        self_closing = true;
        break;
      }
      if (j == before) return fail("no space before an attribute", j);
      const size_t name_start = j;
      while (j < s.size() && name_char(s[j], j == name_start)) ++j;
      if (j == name_start) return fail("bad attribute name", j);
      const std::string attribute = s.substr(name_start, j - name_start);
      if (j >= s.size() || s[j] != '=') return fail("attribute without =", j);
      ++j;
      if (j >= s.size() || (s[j] != '"' && s[j] != '\'')) return fail("unquoted attribute value", j);
      const char quote = s[j];
      const size_t end = s.find(quote, j + 1);
      if (end == std::string::npos) return fail("unterminated attribute value", j);
      std::string value;
      if (!decode(s.substr(j + 1, end - j - 1), &value)) return fail("bad attribute value", j);
      if (!e.attributes.emplace(attribute, value).second) return fail("duplicate attribute " + attribute, j);
      j = end + 1;
    }
    doc.elements.push_back(std::move(e));
    if (!self_closing) open.push_back(doc.elements.size() - 1);
    i = j;
  }
  if (!open.empty()) return fail("unclosed <" + doc.elements[open.back()].name + ">", s.size());
  if (roots != 1) return fail("no root element", 0);
  return doc;
}

XmlDocument parse_svg(const std::string& text) {
  XmlDocument doc = parse_xml(text);
  REQUIRE_MESSAGE(doc.error.empty(), doc.error);
  REQUIRE(!doc.elements.empty());
  CHECK(doc.elements[0].name == "svg");
  CHECK(doc.elements[0].attr("xmlns") == "http://www.w3.org/2000/svg");
  return doc;
}

std::vector<const XmlElement*> with_class(const XmlDocument& doc, const std::string& c) {
  std::vector<const XmlElement*> found;
  for (const XmlElement& e : doc.elements)
    if (e.has_class(c)) found.push_back(&e);
  return found;
}
int64_t count_class(const XmlDocument& doc, const std::string& c) {
  return static_cast<int64_t>(with_class(doc, c).size());
}

TEST_CASE("svg: the test's XML reader refuses what is not well-formed") {
  CHECK(parse_xml("<a x=\"1\"><b/>t &amp; u</a>").error.empty());
  CHECK_FALSE(parse_xml("<a><b></a></b>").error.empty());
  CHECK_FALSE(parse_xml("<a x=1/>").error.empty());
  CHECK_FALSE(parse_xml("<a x=\"1\" x=\"2\"/>").error.empty());
  CHECK_FALSE(parse_xml("<a>&</a>").error.empty());
  CHECK_FALSE(parse_xml("<a>&nbsp;</a>").error.empty());
  CHECK_FALSE(parse_xml("<a x=\"<\"/>").error.empty());
  CHECK_FALSE(parse_xml("<a/><b/>").error.empty());
  CHECK_FALSE(parse_xml("<a>\xff</a>").error.empty());
  CHECK_FALSE(parse_xml("<a>\x01</a>").error.empty());
  CHECK_FALSE(parse_xml("<a>").error.empty());
}

// --- hand-made problems --------------------------------------------------------

// Two levels on a 32 x 16 (W x H) image: four stride-8 priors at
// x = 4, 12, 20, 28 (y = 4) and two stride-16 priors at (8, 8), (24, 8).
// GT 0 covers the left half of the top row, GT 1 the right half, GT 2 is a
// small box bottom right.
Problem two_level_problem() {
  Problem p = testing::row_of_four({{0, 0, 16, 8}, {16, 0, 32, 8}, {28, 12, 31, 15}}, {1, 0, 1});
  const Rows4f top = p.priors;
  p.set_num_priors(6);
  p.priors.resize(6, 4);
  p.priors.topRows(4) = top;
  p.priors.row(4) << 8, 8, 16, 16;
  p.priors.row(5) << 24, 8, 16, 16;
  p.pred_bboxes.conservativeResize(6, 4);
  p.cls_scores.conservativeResize(6, Eigen::NoChange);
  p.num_level_priors = {4, 2};
  p.prior_level = {0, 0, 0, 0, 1, 1};
  p.meta.image_size = std::array<int64_t, 2>{16, 32};
  return p;
}

Assignment hand_assignment(std::vector<int64_t> gt_inds, int64_t num_gts) {
  Assignment a = Assignment::Empty(static_cast<int64_t>(gt_inds.size()), num_gts, 0.0f, true);
  a.assigner = "hand-made";
  a.gt_inds = std::move(gt_inds);
  return a;
}

Batch one_image(Problem p) {
  Batch b;
  b.source = "hand-made";
  b.images.push_back(std::move(p));
  return b;
}

}  // namespace

TEST_CASE("svg: colours are worked out from the documented rule") {
  // g = 0: hue 215°, s 70%, l 45%: chroma 0.63, (r, g, b) = (0.135, 0.3975, 0.765).
  CHECK(render::gt_colour(0) == "#2265c3");
  // g = 1: hue 30° + (185° + 114.59°) = 329.59°, l 62%: chroma 0.532, (0.886, 0.354, 0.6236).
  CHECK(render::gt_colour(1) == "#e25a9f");
  // g = 2: hue 30° + (185° + 229.18°) mod 300° = 144.18°, l 34%: chroma 0.476, (0.102, 0.578, 0.294).
  CHECK(render::gt_colour(2) == "#1a934b");
  std::set<std::string> first_hundred;
  for (int64_t g = 0; g < 100; ++g) first_hundred.insert(render::gt_colour(g));
  CHECK(first_hundred.size() == 100);
  for (int64_t g = 0; g < 5000; g += 7) {
    const std::string c = render::gt_colour(g);
    REQUIRE(c.size() == 7);
    CHECK(c[0] == '#');
    CHECK(c.find_first_not_of("0123456789abcdef", 1) == std::string::npos);
  }
}

TEST_CASE("svg: every positive, ignored and negative prior and every GT in every panel, where worked out by hand") {
  const Problem p = two_level_problem();
  // Priors 0, 1 → GT 0; prior 4 (level 1) → GT 1; prior 3 ignored; 2, 5 negative. GT 2 starved.
  Assignment a = hand_assignment({1, 1, 0, -1, 2, 0}, 3);
  a.dynamic_ks = std::vector<int64_t>{2, 1, 1};
  a.notes = {"a remark"};
  const std::string text = render::svg(one_image(p), {a});
  const XmlDocument doc = parse_svg(text);

  // The picture: two panels of 480 with a gap, margins of 16.
  CHECK(doc.elements[0].number("width") == 16 + 480 + 16 + 480 + 16);
  CHECK(count_class(doc, "panel") == 2);
  CHECK(count_class(doc, "image") == 1);
  CHECK(count_class(doc, "positive") == 3);
  CHECK(count_class(doc, "ignored") == 1);
  CHECK(count_class(doc, "negative") == 2);  // N = 6 <= kMaxNegativeDots
  CHECK(count_class(doc, "extra-match") == 0);
  CHECK(count_class(doc, "gt") == 3 * 2);
  CHECK(count_class(doc, "starved") == 1 * 2);
  CHECK(count_class(doc, "starved-marker") == 1 * 2);
  CHECK(count_class(doc, "gt-label") == 3 * 2);
  CHECK(count_class(doc, "legend-gt") == 3);
  CHECK(count_class(doc, "legend-more") == 0);
  CHECK(count_class(doc, "note") == 1);

  // Scale min(480 / 32, 960 / 16) = 15. Panel 0's left edge is the margin
  // (16), its top below the title (16 + 40), the image line (20) and the
  // panel title (18): 94. Prior 0 at (4, 4) → (16 + 60, 94 + 60); prior 4 at
  // (8, 8) in panel 1 (left 16 + 480 + 16 = 512) → (512 + 120, 94 + 120).
  const auto positives = with_class(doc, "positive");
  REQUIRE(positives.size() == 3);
  CHECK(positives[0]->attr("data-prior") == "0");
  CHECK(positives[0]->number("cx") == 76);
  CHECK(positives[0]->number("cy") == 154);
  CHECK(positives[0]->attr("fill") == render::gt_colour(0));
  CHECK(positives[0]->number("r") == 6);  // 0.3 * 8 * 15 = 36, capped at 6
  CHECK(positives[1]->number("cx") == 76 + 8 * 15);
  CHECK(positives[2]->attr("data-prior") == "4");
  CHECK(positives[2]->attr("data-gt") == "1");
  CHECK(positives[2]->number("cx") == 632);
  CHECK(positives[2]->number("cy") == 214);
  CHECK(positives[2]->attr("fill") == render::gt_colour(1));
  // GT 1 (16, 0, 32, 8) in panel 0: x 16 + 240, width 240, height 120.
  const auto boxes = with_class(doc, "gt");
  REQUIRE(boxes.size() == 6);
  CHECK(boxes[1]->attr("data-gt") == "1");
  CHECK(boxes[1]->number("x") == 256);
  CHECK(boxes[1]->number("y") == 94);
  CHECK(boxes[1]->number("width") == 240);
  CHECK(boxes[1]->number("height") == 120);
  CHECK(boxes[1]->attr("stroke") == render::gt_colour(1));
  CHECK(boxes[2]->has_class("starved"));
  CHECK(boxes[2]->attr("data-gt") == "2");
  CHECK_FALSE(boxes[0]->has_class("starved"));

  // The legend: per GT its label, positives and dynamic k, the starved GT first; the title the assigner.
  const auto legend = with_class(doc, "legend-gt");
  CHECK(legend[0]->text == "gt 2 · label 1 · STARVED · k 1");
  CHECK(legend[1]->text == "gt 0 · label 1 · 2 pos · k 2");
  CHECK(legend[2]->text == "gt 1 · label 0 · 1 pos · k 1");
  CHECK(with_class(doc, "title")[0]->text == "hand-made");
  CHECK(with_class(doc, "gt-label")[0]->text == "0:1");
  const auto titles = with_class(doc, "panel-title");
  REQUIRE(titles.size() == 2);
  CHECK(titles[0]->text == "level 0 · stride 8 · 4 priors · 2 positives");
  CHECK(titles[1]->text == "level 1 · stride 16 · 2 priors · 1 positives");
}

TEST_CASE("svg: a multi-match prior gets a filled circle for its first GT and a ring per further GT") {
  Problem p = testing::row_of_four({{0, 0, 16, 8}, {8, 0, 24, 8}, {16, 0, 32, 8}}, {0, 0, 1});
  p.meta.image_size = std::array<int64_t, 2>{8, 32};
  Assignment a = hand_assignment({1, 0, 2, 0}, 3);
  a.dynamic_ks.reset();
  a.matches = std::vector<Match>{{0, 0}, {0, 1}, {0, 2}, {2, 1}};
  const XmlDocument doc = parse_svg(render::svg(one_image(p), {a}));
  CHECK(count_class(doc, "positive") == 2);     // priors 0 and 2
  CHECK(count_class(doc, "extra-match") == 2);  // prior 0's GTs 1 and 2
  CHECK(count_class(doc, "starved") == 0);
  const auto rings = with_class(doc, "extra-match");
  const auto positives = with_class(doc, "positive");
  // Scale 480 / 32 = 15; r = min(0.3 * 8 * 15, 6) = 6; rings 2 px apart.
  CHECK(positives[0]->number("r") == 6);
  CHECK(rings[0]->attr("data-gt") == "1");
  CHECK(rings[0]->number("r") == 8);
  CHECK(rings[1]->attr("data-gt") == "2");
  CHECK(rings[1]->number("r") == 10);
  CHECK(rings[1]->attr("stroke") == render::gt_colour(2));
  CHECK(rings[0]->number("cx") == positives[0]->number("cx"));
  const auto legend = with_class(doc, "legend-gt");
  REQUIRE(legend.size() == 3);
  CHECK(legend[1]->text == "gt 1 · label 0 · 2 pos");  // prior 0 and prior 2; no dynamic k
}

TEST_CASE("svg: non-finite coordinates are left out, no priors at all still draws the GTs in one panel") {
  Problem p = two_level_problem();
  p.priors(1, 0) = std::numeric_limits<float>::quiet_NaN();
  p.gt_bboxes(1, 2) = std::numeric_limits<float>::infinity();
  const std::string text = render::svg(one_image(p), {hand_assignment({1, 1, 0, -1, 2, 0}, 3)});
  const XmlDocument doc = parse_svg(text);
  CHECK(count_class(doc, "positive") == 2);  // prior 1 has no centre to draw
  CHECK(count_class(doc, "gt") == 2 * 2);    // GT 1 has no box to draw
  CHECK(text.find("nan") == std::string::npos);
  CHECK(text.find("inf") == std::string::npos);

  Problem empty;
  empty.gt_bboxes.resize(1, 4);
  empty.gt_bboxes.row(0) << 2, 3, 10, 7;
  empty.gt_labels = {4};
  const XmlDocument none = parse_svg(render::svg(one_image(empty), {hand_assignment({}, 1)}));
  CHECK(count_class(none, "panel") == 1);
  CHECK(count_class(none, "gt") == 1);
  CHECK(count_class(none, "starved") == 1);
  CHECK(count_class(none, "positive") == 0);
  // The canvas is (0, 0)-(10, 7): scale min(480 / 10, 960 / 7) = 48.
  const auto box = with_class(none, "gt")[0];
  CHECK(box->number("x") == 16 + 2 * 48);
  CHECK(box->number("width") == 8 * 48);
  CHECK(doc.elements[0].number("width") == 1008);
  CHECK(none.elements[0].number("width") == layout::kMinWidth);
}

TEST_CASE("svg: the canvas is the image size, else the bounding box of priors and boxes") {
  Problem p = two_level_problem();
  render::SvgCanvas c = render::svg_canvas(p);
  CHECK(c.from_image_size);
  CHECK(c.width == 32);
  CHECK(c.height == 16);
  p.meta.image_size.reset();
  p.gt_bboxes.row(2) << 28, 12, 40, 30;  // reaches beyond the priors' cells
  c = render::svg_canvas(p);
  CHECK_FALSE(c.from_image_size);
  CHECK(c.x0 == 0);  // the origin is always inside
  CHECK(c.y0 == 0);
  CHECK(c.width == 40);
  CHECK(c.height == 30);
  p.gt_bboxes.row(0) << -8, -4, 16, 8;
  c = render::svg_canvas(p);
  CHECK(c.x0 == -8);
  CHECK(c.y0 == -4);
  CHECK(c.width == 48);
  // Wide canvases fill the panel width; tall ones stop at the maximum height.
  CHECK(render::svg_scale({0, 0, 960, 100, true}) == 0.5);
  CHECK(render::svg_scale({0, 0, 100, 1920, true}) == 0.5);
}

TEST_CASE("svg: text from the dump and the assigner is escaped, invalid UTF-8 replaced") {
  CHECK(render::xml_escape("a<b>&\"c'") == "a&lt;b&gt;&amp;&quot;c&apos;");
  CHECK(render::xml_escape("é · …") == "é · …");
  CHECK(render::xml_escape("x\xffy") == "x\xEF\xBF\xBDy");
  CHECK(render::xml_escape("\xE2\x82") == "\xEF\xBF\xBD\xEF\xBF\xBD");  // truncated sequence
  CHECK(render::xml_escape("\xC0\xAF") == "\xEF\xBF\xBD\xEF\xBF\xBD");  // overlong '/'
  CHECK(render::xml_escape("a\nb\x01") ==
        "a\xEF\xBF\xBD"
        "b\xEF\xBF\xBD");

  Batch batch = one_image(two_level_problem());
  batch.is_batch = true;
  batch.source = "dumps/<&>";
  batch.images[0].name = "img \"<1>\" & \xff";
  Assignment a = hand_assignment({1, 0, 0, 0, 0, 0}, 3);
  a.notes = {"note with <tags> & \"quotes\""};
  const XmlDocument doc = parse_svg(render::svg(batch, {a}));
  const auto images = with_class(doc, "image");
  REQUIRE(images.size() == 1);
  CHECK(images[0]->attr("data-name") == "img \"<1>\" & \xEF\xBF\xBD");
  CHECK(with_class(doc, "image-title")[0]->text.rfind("image 0 (img \"<1>\" & \xEF\xBF\xBD) · 6 priors", 0) == 0);
  CHECK(with_class(doc, "note")[0]->text == "note: note with <tags> & \"quotes\"");
  CHECK(with_class(doc, "subtitle")[0]->text.rfind("dumps/<&> · 1 image", 0) == 0);
}

TEST_CASE("svg: a crowd keeps one circle per positive and a truncated legend") {
  // 3000 GTs on a 640 x 640 image, stride-8 priors on an 80 x 80 grid; GT g
  // gets prior g; the last 10 GTs get none.
  const int64_t n = 6400, num_gts = 3000;
  Problem p;
  p.set_num_priors(n);
  p.priors.resize(n, 4);
  for (int64_t i = 0; i < n; ++i) {
    const int64_t column = i % 80, row = i / 80;  // a grid 80 priors wide
    p.priors.row(i) << 4.0f + 8.0f * static_cast<float>(column), 4.0f + 8.0f * static_cast<float>(row), 8, 8;
  }
  p.num_level_priors = {n};
  p.prior_level.assign(static_cast<size_t>(n), 0);
  p.gt_bboxes.resize(num_gts, 4);
  for (int64_t g = 0; g < num_gts; ++g) {
    const int64_t column = g % 80, row = g / 80;
    const float x = 8.0f * static_cast<float>(column), y = 8.0f * static_cast<float>(row);
    p.gt_bboxes.row(g) << x, y, x + 8, y + 8;
  }
  p.gt_labels.assign(static_cast<size_t>(num_gts), 7);
  p.meta.image_size = std::array<int64_t, 2>{640, 640};
  p.mark(Field::kPriors);
  std::vector<int64_t> gt_inds(static_cast<size_t>(n), 0);
  for (int64_t g = 0; g < num_gts - 10; ++g) gt_inds[static_cast<size_t>(g)] = g + 1;
  const std::string text = render::svg(one_image(p), {hand_assignment(gt_inds, num_gts)});
  const XmlDocument doc = parse_svg(text);
  CHECK(count_class(doc, "positive") == num_gts - 10);
  CHECK(count_class(doc, "gt") == num_gts);
  CHECK(count_class(doc, "starved") == 10);
  CHECK(count_class(doc, "negative") == 0);  // N > kMaxNegativeDots
  CHECK(count_class(doc, "gt-label") == 0);  // G > kMaxBoxLabels
  const auto legend = with_class(doc, "legend-gt");
  CHECK(legend.size() == layout::kMaxLegendGts);
  // Starved GTs first: the last 10, then the others from GT 0.
  for (size_t e = 0; e < legend.size(); ++e) {
    const auto k = static_cast<int64_t>(e);
    CHECK(legend[e]->attr("data-gt") == std::to_string(k < 10 ? num_gts - 10 + k : k - 10));
  }
  const auto more = with_class(doc, "legend-more");
  REQUIRE(more.size() == 1);
  CHECK(more[0]->text == "… and 2940 more GTs, none starved");
  CHECK(text.size() < 1500000);  // about 250 bytes per GT
}

TEST_CASE("svg: the diff picture draws each differing prior once, by the kind of change") {
  const Problem p = two_level_problem();
  // prior: 0     1     2       3        4      5
  // a:     gt0   gt0   neg     ignored  gt1    neg
  // b:     gt0   neg   gt2     neg      gt0    neg
  Assignment a = hand_assignment({1, 1, 0, -1, 2, 0}, 3);
  Assignment b = hand_assignment({1, 0, 3, 0, 1, 0}, 3);
  a.assigner = "simota";
  b.assigner = "simota";
  b.dynamic_ks = std::vector<int64_t>{2, 0, 1};
  const XmlDocument doc = parse_svg(render::svg_diff(p, a, b, "old <a>", "new"));
  CHECK(count_class(doc, "flip-pos-neg") == 1);
  CHECK(count_class(doc, "flip-neg-pos") == 1);
  CHECK(count_class(doc, "flip-gt") == 1);
  CHECK(count_class(doc, "flip-ignored") == 1);
  CHECK(count_class(doc, "positive") == 0);
  CHECK(count_class(doc, "gt") == 3 * 2);
  CHECK(count_class(doc, "panel") == 2);
  const auto pos_neg = with_class(doc, "flip-pos-neg")[0];
  CHECK(pos_neg->attr("data-prior") == "1");
  CHECK(pos_neg->attr("stroke") == render::gt_colour(0));
  CHECK(pos_neg->attr("fill") == "none");
  const auto neg_pos = with_class(doc, "flip-neg-pos")[0];
  CHECK(neg_pos->attr("data-prior") == "2");
  CHECK(neg_pos->attr("fill") == render::gt_colour(2));
  CHECK(neg_pos->number("cx") == 16 + 20 * 15);
  const auto changed = with_class(doc, "flip-gt")[0];
  CHECK(changed->attr("data-prior") == "4");
  CHECK(changed->attr("data-gt-a") == "1");
  CHECK(changed->attr("data-gt-b") == "0");
  CHECK(with_class(doc, "flip-ignored")[0]->attr("data-prior") == "3");
  // Every GT's positives changed: 0 (2 → 2, but lost prior 1 and gained 4), 1, 2.
  const auto legend = with_class(doc, "legend-gt");
  REQUIRE(legend.size() == 3);
  CHECK(legend[0]->text == "gt 0 · label 1 · pos 2 → 2 · k 0 → 2");
  CHECK(legend[1]->text == "gt 1 · label 0 · pos 1 → 0 · k 0 → 0");
  CHECK(legend[2]->text == "gt 2 · label 1 · pos 0 → 1 · k 0 → 1");
  CHECK(with_class(doc, "title")[0]->text == "diff: old <a> → new");
  const auto panel_titles = with_class(doc, "panel-title");
  CHECK(panel_titles[0]->text == "level 0 · stride 8 · 4 priors · 3 differ");
  CHECK(panel_titles[1]->text == "level 1 · stride 16 · 2 priors · 1 differ");

  // Identical assignments differ nowhere.
  const XmlDocument same = parse_svg(render::svg_diff(p, a, a, "a", "b"));
  for (const char* c : {"flip-pos-neg", "flip-neg-pos", "flip-gt", "flip-ignored", "legend-gt"})
    CHECK(count_class(same, c) == 0);
  CHECK(with_class(same, "image-title")[0]->text.rfind("0 of 6 priors differ", 0) == 0);

  // Multi-match: prior 0 serves {0, 1} in a and {0} in b: GT changed, halves 1 | 0.
  Assignment m = hand_assignment({1, 0, 0, 0, 0, 0}, 3);
  m.matches = std::vector<Match>{{0, 0}, {0, 1}};
  Assignment single = hand_assignment({1, 0, 0, 0, 0, 0}, 3);
  const XmlDocument multi = parse_svg(render::svg_diff(p, m, single, "a", "b"));
  REQUIRE(count_class(multi, "flip-gt") == 1);
  CHECK(with_class(multi, "flip-gt")[0]->attr("data-gt-a") == "1");
  CHECK(with_class(multi, "flip-gt")[0]->attr("data-gt-b") == "0");
}

// --- golden cases ----------------------------------------------------------------

namespace {

struct Replay {
  std::string label;
  Batch batch;
  std::vector<Assignment> results;
};

// Every stored result under `root` (a case, or a directory of cases), replayed.
std::vector<Replay> replay_cases(const std::string& root) {
  std::vector<std::string> cases;
  if (fs::is_directory(fs::path(root) / "expected")) {
    cases.push_back(root);
  } else {
    for (const auto& entry : fs::directory_iterator(root))
      if (fs::is_directory(entry.path() / "expected")) cases.push_back(entry.path().string());
  }
  std::sort(cases.begin(), cases.end());
  std::vector<Replay> replays;
  for (const std::string& c : cases) {
    auto dump = io::load_dump(c);
    REQUIRE_MESSAGE(dump.ok(), dump.status().message());
    std::vector<std::string> labels;
    for (const auto& entry : fs::directory_iterator(fs::path(c) / "expected")) labels.push_back(entry.path().string());
    std::sort(labels.begin(), labels.end());
    for (const std::string& label : labels) {
      const nlohmann::json params_json = nlohmann::json::parse(testing::read_text(label + "/params.json"));
      const assign::AssignerInfo* info = assign::find_assigner(params_json.at("assigner").get<std::string>());
      REQUIRE(info != nullptr);
      Params params = assign::default_params(*info);
      if (params_json.contains("params")) REQUIRE(params.set_all(params_json.at("params")).ok());
      auto results = assign::assign_batch(*info, params, dump->batch);
      REQUIRE_MESSAGE(results.ok(), results.status().message());
      replays.push_back({label, dump->batch, std::move(results).value()});
    }
  }
  return replays;
}

// What the picture must hold, counted from the assignment itself.
struct Expected {
  int64_t images = 0, panels = 0, gt_boxes = 0, starved = 0, positives = 0, ignored = 0, negatives = 0,
          extra_matches = 0;
};

Expected expected_counts(const Batch& batch, const std::vector<Assignment>& results) {
  Expected e;
  for (size_t b = 0; b < results.size(); ++b) {
    const Problem& p = batch.images[b];
    const Assignment& a = results[b];
    const int64_t panels = std::max<int64_t>(1, p.num_levels());
    ++e.images;
    e.panels += panels;
    e.gt_boxes += p.num_gts() * panels;
    std::vector<bool> served(static_cast<size_t>(p.num_gts()), false);
    int64_t negatives = 0;
    for (int64_t gi : a.gt_inds) {
      if (gi > 0) {
        ++e.positives;
        if (gi <= p.num_gts()) served[static_cast<size_t>(gi - 1)] = true;
      }
      if (gi < 0) ++e.ignored;
      if (gi == 0) ++negatives;
    }
    if (a.num_priors() <= layout::kMaxNegativeDots) e.negatives += negatives;
    if (a.matches) {
      std::set<int64_t> matched_priors;
      for (const Match& m : *a.matches) {
        CHECK(a.gt_inds[static_cast<size_t>(m.prior)] > 0);  // a matched prior is positive
        matched_priors.insert(m.prior);
        if (m.gt < p.num_gts()) served[static_cast<size_t>(m.gt)] = true;
      }
      e.extra_matches += static_cast<int64_t>(a.matches->size() - matched_priors.size());
    }
    for (bool s : served) e.starved += s ? 0 : panels;
  }
  return e;
}

void check_counts(const XmlDocument& doc, const Expected& e) {
  CHECK(count_class(doc, "image") == e.images);
  CHECK(count_class(doc, "panel") == e.panels);
  CHECK(count_class(doc, "gt") == e.gt_boxes);
  CHECK(count_class(doc, "starved") == e.starved);
  CHECK(count_class(doc, "starved-marker") == e.starved);
  CHECK(count_class(doc, "positive") == e.positives);
  CHECK(count_class(doc, "ignored") == e.ignored);
  CHECK(count_class(doc, "negative") == e.negatives);
  CHECK(count_class(doc, "extra-match") == e.extra_matches);
}

}  // namespace

TEST_CASE("svg: every golden result's picture holds its positives, ignored priors, GTs and starved GTs") {
  std::vector<Replay> replays = replay_cases(testing::source_path("testdata/golden"));
  for (Replay& r : replay_cases(testing::source_path("testdata/coco640-late-g12-objectness")))
    replays.push_back(std::move(r));
  CHECK(replays.size() >= 69);  // 63 toy results and the demo's 6
  bool saw_matches = false, saw_ignored = false, saw_starved = false, saw_padding_free = false;
  for (const Replay& r : replays) {
    CAPTURE(r.label);
    const std::string text = render::svg(r.batch, r.results);
    const XmlDocument doc = parse_svg(text);
    const Expected e = expected_counts(r.batch, r.results);
    check_counts(doc, e);
    saw_matches |= e.extra_matches > 0;
    saw_ignored |= e.ignored > 0;
    saw_starved |= e.starved > 0;
    saw_padding_free |= e.positives > 0;
    // A diff of the result with itself draws nothing; with everything negative, one marker per positive.
    if (!r.batch.is_batch) {
      const Problem& p = r.batch.images[0];
      const Assignment& a = r.results[0];
      const XmlDocument same = parse_svg(render::svg_diff(p, a, a, "a", "b"));
      CHECK(count_class(same, "flip-pos-neg") + count_class(same, "flip-neg-pos") + count_class(same, "flip-gt") == 0);
      Assignment negative = a;
      negative.matches.reset();
      std::fill(negative.gt_inds.begin(), negative.gt_inds.end(), 0);
      const XmlDocument gone = parse_svg(render::svg_diff(p, a, negative, "a", "b"));
      CHECK(count_class(gone, "flip-pos-neg") == e.positives);
      CHECK(count_class(gone, "flip-ignored") == e.ignored);
    }
  }
  // The golden cases exercise every kind of marker.
  CHECK(saw_matches);
  CHECK(saw_ignored);
  CHECK(saw_starved);
  CHECK(saw_padding_free);
}

// --- a real renderer -------------------------------------------------------------

namespace {

struct Png {
  uint32_t width = 0, height = 0;
  size_t channels = 4;                                  // 4: RGBA, 3: RGB
  std::vector<unsigned char> data;                      // width * height * channels
  std::array<int, 4> pixel(double x, double y) const {  // RGBA
    const auto px = static_cast<size_t>(std::floor(x)), py = static_cast<size_t>(std::floor(y));
    REQUIRE(px < width);
    REQUIRE(py < height);
    const size_t at = (py * width + px) * channels;
    return {data[at], data[at + 1], data[at + 2], channels == 4 ? data[at + 3] : 255};
  }
};

uint32_t be32(const unsigned char* p) {
  return (uint32_t{p[0]} << 24) | (uint32_t{p[1]} << 16) | (uint32_t{p[2]} << 8) | uint32_t{p[3]};
}

// An 8-bit RGBA or RGB, non-interlaced PNG (what rsvg-convert writes).
Png decode_png(const std::vector<unsigned char>& bytes) {
  Png png;
  static const unsigned char kSignature[8] = {0x89, 'P', 'N', 'G', '\r', '\n', 0x1A, '\n'};
  REQUIRE(bytes.size() > 33);
  REQUIRE(std::equal(kSignature, kSignature + 8, bytes.begin()));
  std::vector<unsigned char> compressed;
  size_t at = 8;
  while (at + 8 <= bytes.size()) {
    const uint32_t length = be32(&bytes[at]);
    const std::string type(bytes.begin() + static_cast<std::ptrdiff_t>(at + 4),
                           bytes.begin() + static_cast<std::ptrdiff_t>(at + 8));
    REQUIRE(at + 12 + length <= bytes.size());
    const unsigned char* data = &bytes[at + 8];
    if (type == "IHDR") {
      png.width = be32(data);
      png.height = be32(data + 4);
      REQUIRE(int{data[8]} == 8);                         // bit depth
      REQUIRE((int{data[9]} == 6 || int{data[9]} == 2));  // RGBA or RGB
      png.channels = data[9] == 6 ? 4 : 3;
      REQUIRE(int{data[12]} == 0);  // not interlaced
    } else if (type == "IDAT") {
      compressed.insert(compressed.end(), data, data + length);
    }
    at += 12 + length;
  }
  const size_t stride = size_t{png.width} * png.channels;
  const size_t bpp = png.channels;
  std::vector<unsigned char> raw((stride + 1) * png.height);
  uLongf raw_size = static_cast<uLongf>(raw.size());
  REQUIRE(uncompress(raw.data(), &raw_size, compressed.data(), static_cast<uLong>(compressed.size())) == Z_OK);
  REQUIRE(raw_size == raw.size());
  png.data.assign(stride * png.height, 0);
  for (size_t y = 0; y < png.height; ++y) {
    const unsigned char filter = raw[y * (stride + 1)];
    const unsigned char* in = &raw[y * (stride + 1) + 1];
    unsigned char* out = &png.data[y * stride];
    const unsigned char* prior = y > 0 ? &png.data[(y - 1) * stride] : nullptr;
    for (size_t i = 0; i < stride; ++i) {
      const int a = i >= bpp ? out[i - bpp] : 0, b = prior ? prior[i] : 0, c = prior && i >= bpp ? prior[i - bpp] : 0;
      int predicted = 0;
      switch (filter) {
        case 0: predicted = 0; break;
        case 1: predicted = a; break;
        case 2: predicted = b; break;
        case 3: predicted = (a + b) / 2; break;
        case 4: {
          const int pa = std::abs(b - c), pb = std::abs(a - c), pc = std::abs(a + b - 2 * c);
          predicted = pa <= pb && pa <= pc ? a : pb <= pc ? b : c;
          break;
        }
        default: FAIL("unknown PNG filter " << int{filter});
      }
      out[i] = static_cast<unsigned char>((in[i] + predicted) & 0xFF);
    }
  }
  return png;
}

std::array<int, 4> rgb_of(const std::string& hex) {
  REQUIRE(hex.size() == 7);
  return {std::stoi(hex.substr(1, 2), nullptr, 16), std::stoi(hex.substr(3, 2), nullptr, 16),
          std::stoi(hex.substr(5, 2), nullptr, 16), 255};
}

void check_pixel(const Png& png, double x, double y, const std::array<int, 4>& want) {
  const std::array<int, 4> got = png.pixel(x, y);
  CAPTURE(x);
  CAPTURE(y);
  for (int c = 0; c < 4; ++c) {
    CAPTURE(c);
    CHECK(std::abs(got[static_cast<size_t>(c)] - want[static_cast<size_t>(c)]) <= 2);
  }
}

std::string find_rsvg_convert() {
  const char* path = std::getenv("PATH");
  std::istringstream dirs(path ? path : "/usr/bin");
  std::string dir;
  while (std::getline(dirs, dir, ':')) {
    const fs::path candidate = fs::path(dir.empty() ? "." : dir) / "rsvg-convert";
    if (::access(candidate.c_str(), X_OK) == 0) return candidate.string();
  }
  return "";
}

// Renders `svg` with rsvg-convert; checks it succeeded and made a PNG of the picture's size.
Png render_png(const std::string& svg_text, const XmlDocument& doc) {
  const std::string rsvg = find_rsvg_convert();
  REQUIRE_MESSAGE(!rsvg.empty(),
                  "rsvg-convert is not installed: the SVG rendering test needs Debian's librsvg2-bin "
                  "(tools/test.sh installs it; or apt-get install librsvg2-bin)");
  testing::TempDir tmp;
  REQUIRE(io::write_file_atomic(tmp.path("picture.svg"), svg_text, false).ok());
  const std::string cmd = "'" + rsvg + "' --format png -o '" + tmp.path("picture.png") + "' '" +
                          tmp.path("picture.svg") + "' 2>'" + tmp.path("err") + "'";
  const int status = std::system(cmd.c_str());
  INFO(testing::read_text(tmp.path("err")));
  REQUIRE(WIFEXITED(status));
  REQUIRE(WEXITSTATUS(status) == 0);
  auto png_bytes = io::read_file_bytes(tmp.path("picture.png"));
  REQUIRE(png_bytes.ok());
  Png png = decode_png(*png_bytes);
  CHECK(png.width == static_cast<uint32_t>(doc.elements[0].number("width")));
  CHECK(png.height == static_cast<uint32_t>(doc.elements[0].number("height")));
  return png;
}

}  // namespace

TEST_CASE("svg: rsvg-convert renders the run and diff pictures, with the markers where the SVG puts them") {
  const std::vector<Replay> demo = replay_cases(testing::source_path("testdata/coco640-late-g12-objectness"));
  const Replay* dsl = nullptr;
  for (const Replay& r : demo)
    if (r.results[0].assigner == "dynamic-soft-label") dsl = &r;
  REQUIRE(dsl != nullptr);
  const std::string text = render::svg(dsl->batch, dsl->results);
  const XmlDocument doc = parse_svg(text);
  const Png png = render_png(text, doc);
  check_pixel(png, 2, 2, {255, 255, 255, 255});  // the background
  const auto positives = with_class(doc, "positive");
  REQUIRE(positives.size() == 74);
  // The last positive of each panel: nothing is drawn over its centre.
  std::map<double, const XmlElement*> last_per_panel;  // by panel index
  for (const XmlElement* c : positives)
    last_per_panel[std::floor(c->number("cx") / (layout::kPanelWidth + layout::kGap))] = c;
  CHECK(last_per_panel.size() == 3);
  for (const auto& [panel, circle] : last_per_panel)
    check_pixel(png, circle->number("cx"), circle->number("cy"), rgb_of(circle->attr("fill")));

  // The diff against an all-negative result: hollow circles, so the centre is the canvas.
  Assignment negative = dsl->results[0];
  std::fill(negative.gt_inds.begin(), negative.gt_inds.end(), 0);
  const std::string diff_text = render::svg_diff(dsl->batch.images[0], negative, dsl->results[0], "none", "dsl");
  const XmlDocument diff = parse_svg(diff_text);
  const Png diff_png = render_png(diff_text, diff);
  const auto gained = with_class(diff, "flip-neg-pos");
  REQUIRE(gained.size() == 74);
  const XmlElement* last = gained.back();
  check_pixel(diff_png, last->number("cx"), last->number("cy"), rgb_of(last->attr("fill")));
}

TEST_CASE("svg: a dump's image is embedded under the boxes of every level panel, and rsvg-convert renders it") {
  // The demo case twice, run from inside each copy so the titles match: as it
  // is, and with a 640 x 640 red image.png.
  testing::TempDir plain_dir, image_dir;
  for (const testing::TempDir* tmp : {&plain_dir, &image_dir})
    for (const auto& entry : fs::directory_iterator(testing::source_path("testdata/coco640-late-g12-objectness")))
      if (entry.is_regular_file()) fs::copy_file(entry.path(), fs::path(tmp->path()) / entry.path().filename());
  const std::vector<unsigned char> png = testing::solid_png(640, 640, {255, 0, 0});
  testing::write_bytes(image_dir.path("image.png"), png);
  const testing::CliRun plain = testing::run_cli("run . -a simota --format svg", plain_dir.path());
  const testing::CliRun with = testing::run_cli("run . -a simota --format svg", image_dir.path());
  REQUIRE(plain.exit_code == 0);
  REQUIRE_MESSAGE(with.exit_code == 0, with.err);
  const XmlDocument doc = parse_svg(with.out);
  const auto sources = with_class(doc, "input-image-source");
  const auto images = with_class(doc, "input-image");
  const auto panels = with_class(doc, "panel");
  const auto canvases = with_class(doc, "canvas");
  REQUIRE(panels.size() == 3);
  REQUIRE(images.size() == panels.size());
  REQUIRE(canvases.size() == panels.size());
  // Embedded once, used by every panel, scaled onto its canvas.
  REQUIRE(sources.size() == 1);
  CHECK(sources[0]->name == "image");
  CHECK(sources[0]->attr("href") == "data:image/png;base64," + render::base64(png));
  CHECK(sources[0]->attr("preserveAspectRatio") == "none");
  CHECK(sources[0]->number("width") == 640);
  CHECK(with.out.find(render::base64(png)) == with.out.rfind(render::base64(png)));
  for (size_t i = 0; i < images.size(); ++i) {
    CAPTURE(i);
    CHECK(images[i]->name == "use");
    CHECK(images[i]->attr("href") == "#" + sources[0]->attr("id"));
    const std::string transform = images[i]->attr("transform");
    CHECK(transform == "translate(" + canvases[i]->attr("x") + " " + canvases[i]->attr("y") + ") scale(0.75)");
  }
  // Nothing else changes: the picture without its image lines is the plain one.
  std::istringstream lines(with.out);
  std::string line, stripped;
  while (std::getline(lines, line))
    if (line.rfind("<use class=\"input-image\"", 0) != 0 && line.rfind("<defs><image", 0) != 0) stripped += line + "\n";
  CHECK(stripped == plain.out);

  // Rendered: where the plain picture shows the empty canvas, the red image
  // shows through at 60 % opacity.
  const XmlDocument plain_doc = parse_svg(plain.out);
  const Png plain_png = render_png(plain.out, plain_doc);
  const Png image_png = render_png(with.out, doc);
  const double x = canvases[0]->number("x") + 3, y = canvases[0]->number("y") + 3;
  check_pixel(plain_png, x, y, {247, 247, 247, 255});
  check_pixel(image_png, x, y, {252, 99, 99, 255});
  // Over the image, a positive's centre is its GT's colour: the last one of each panel.
  std::map<double, const XmlElement*> last_per_panel;
  for (const XmlElement* c : with_class(doc, "positive"))
    last_per_panel[std::floor(c->number("cx") / (layout::kPanelWidth + layout::kGap))] = c;
  CHECK(last_per_panel.size() == 3);
  for (const auto& kv : last_per_panel)
    check_pixel(image_png, kv.second->number("cx"), kv.second->number("cy"), rgb_of(kv.second->attr("fill")));
}

// --- what issue 16 asked to see: lost priors, connectors, labels, views ------------

namespace {

const Replay& demo_replay(const std::vector<Replay>& demo, const std::string& assigner) {
  for (const Replay& r : demo)
    if (r.results[0].assigner == assigner) return r;
  FAIL("no " << assigner << " result in the demo");
  return demo[0];
}

// Whether (x, y) lies in the canvas rect of a panel (a small tolerance for rounding).
bool in_rect(const XmlElement& rect, double x, double y) {
  return x >= rect.number("x") - 0.1 && x <= rect.number("x") + rect.number("width") + 0.1 &&
         y >= rect.number("y") - 0.1 && y <= rect.number("y") + rect.number("height") + 0.1;
}

}  // namespace

TEST_CASE("svg: lost priors are those stats count, per GT, and connectors join far positives to their box") {
  std::vector<Replay> replays = replay_cases(testing::source_path("testdata/golden"));
  for (Replay& r : replay_cases(testing::source_path("testdata/coco640-late-g12-objectness")))
    replays.push_back(std::move(r));
  int64_t lost_seen = 0, connectors_seen = 0;
  for (const Replay& r : replays) {
    CAPTURE(r.label);
    const XmlDocument doc = parse_svg(render::svg(r.batch, r.results));
    std::map<std::pair<size_t, int64_t>, int64_t> expected_lost, drawn_lost;  // (image, GT)
    int64_t expected_connectors = 0;
    for (size_t b = 0; b < r.results.size(); ++b) {
      const Problem& p = r.batch.images[b];
      const analysis::ImageStats s = analysis::compute_stats(p, r.results[b]);
      for (const analysis::GtStats& g : s.gts)
        if (g.lost > 0) expected_lost[{b, g.index}] = g.lost;
      for (size_t i = 0; i < r.results[b].gt_inds.size() && static_cast<Eigen::Index>(i) < p.priors.rows(); ++i) {
        const int64_t g = r.results[b].gt_inds[i] - 1;
        if (g < 0 || g >= p.num_gts()) continue;
        const auto x = static_cast<double>(p.priors(static_cast<Eigen::Index>(i), 0));
        const auto y = static_cast<double>(p.priors(static_cast<Eigen::Index>(i), 1));
        const auto box = p.gt_bboxes.row(g).cast<double>();
        if (std::isfinite(x) && std::isfinite(y) && box.allFinite() &&
            (x < std::min(box(0), box(2)) || x > std::max(box(0), box(2)) || y < std::min(box(1), box(3)) ||
             y > std::max(box(1), box(3))))
          ++expected_connectors;
      }
    }
    // Which image a lost ring belongs to: the g.image elements come in order, before their content.
    size_t image = 0;
    for (const XmlElement& e : doc.elements) {
      if (e.has_class("image")) {
        const std::string id = e.attr("id");
        image = static_cast<size_t>(std::stoll(id.substr(id.find('-') + 1)));
      }
      if (e.has_class("lost")) {
        ++drawn_lost[{image, std::stoll(e.attr("data-gt"))}];
        CHECK(e.attr("data-winner") != e.attr("data-gt"));
      }
    }
    CHECK(drawn_lost == expected_lost);
    CHECK(count_class(doc, "connector") == expected_connectors);
    // Zoomed on GT 0 (of every image that has one): exactly its candidates, all its positives.
    render::SvgView zoom;
    zoom.gt = 0;
    int64_t candidates = 0, positives = 0, images_with_gt = 0;
    for (size_t b = 0; b < r.results.size(); ++b) {
      if (r.batch.images[b].num_gts() == 0) continue;
      ++images_with_gt;
      const analysis::ImageStats s = analysis::compute_stats(r.batch.images[b], r.results[b]);
      candidates += s.gts[0].candidates;
      positives += s.gts[0].positives;
    }
    if (images_with_gt > 0) {
      const XmlDocument zoomed = parse_svg(render::svg(r.batch, r.results, zoom));
      CHECK(count_class(zoomed, "image") == images_with_gt);
      CHECK(count_class(zoomed, "candidate") == candidates);
      int64_t drawn = 0;
      for (const XmlElement* c : with_class(zoomed, "positive"))
        drawn += c->attr("data-gt") == "0" && std::stoll(c->attr("data-prior")) >= 0;
      if (r.results[0].matches) CHECK(drawn <= positives);  // a multi-match prior names its lowest GT
      else CHECK(drawn == positives);
    }
    for (const auto& kv : drawn_lost) lost_seen += kv.second;
    connectors_seen += expected_connectors;
  }
  CHECK(lost_seen > 0);
  CHECK(connectors_seen > 0);
}

TEST_CASE("svg: positives are large enough to see at every level, and the demo's GT tags do not overlap") {
  const std::vector<Replay> demo = replay_cases(testing::source_path("testdata/coco640-late-g12-objectness"));
  for (const Replay& r : demo) {
    CAPTURE(r.label);
    const XmlDocument doc = parse_svg(render::svg(r.batch, r.results));
    for (const XmlElement* c : with_class(doc, "positive")) CHECK(c->number("r") >= layout::kMinMarkerRadius - 1);
    // The tags of one panel (between two panel elements) never overlap; every GT has one in every panel.
    std::vector<std::vector<std::array<double, 4>>> boxes;
    std::vector<std::set<std::string>> tagged;
    for (const XmlElement& e : doc.elements) {
      if (e.has_class("panel")) boxes.emplace_back(), tagged.emplace_back();
      if (!e.has_class("gt-label")) continue;
      REQUIRE(!boxes.empty());
      std::istringstream words(e.attr("data-box"));
      std::array<double, 4> b{};
      words >> b[0] >> b[1] >> b[2] >> b[3];
      CHECK(b[2] >= static_cast<double>(e.text.size()) * layout::kLabelCharWidth);
      for (const auto& o : boxes.back()) {
        CAPTURE(e.text);
        CHECK_FALSE((b[0] < o[0] + o[2] && o[0] < b[0] + b[2] && b[1] < o[1] + o[3] && o[1] < b[1] + b[3]));
      }
      boxes.back().push_back(b);
      tagged.back().insert(e.attr("data-gt"));
    }
    REQUIRE(tagged.size() == 3);
    for (const auto& t : tagged)
      for (const char* g : {"0", "1", "4"}) CHECK(t.count(g) == 1);
  }
}

TEST_CASE("svg: --gt zooms on one GT with exactly its candidates and picks, --region clips, --image picks") {
  const std::vector<Replay> demo = replay_cases(testing::source_path("testdata/coco640-late-g12-objectness"));
  for (const char* assigner : {"dynamic-soft-label", "simota"}) {
    const Replay& r = demo_replay(demo, assigner);
    const Problem& p = r.batch.images[0];
    const analysis::ImageStats s = analysis::compute_stats(p, r.results[0]);
    for (int64_t gt : {0, 9, 11}) {
      CAPTURE(assigner);
      CAPTURE(gt);
      render::SvgView view;
      view.gt = gt;
      const XmlDocument doc = parse_svg(render::svg(r.batch, r.results, view));
      const auto candidates = with_class(doc, "candidate");
      CHECK(static_cast<int64_t>(candidates.size()) == s.gts[static_cast<size_t>(gt)].candidates);
      int64_t picked = count_class(doc, "pick");
      for (const XmlElement* c : candidates) {
        CHECK(c->attr("data-gt") == std::to_string(gt));
        picked += c->has_class("picked");
      }
      CHECK(picked == s.gts[static_cast<size_t>(gt)].picked);
      // Every positive of GT I is in the picture, and every lost ring of it.
      int64_t positives = 0, lost = 0;
      for (const XmlElement* c : with_class(doc, "positive")) positives += c->attr("data-gt") == std::to_string(gt);
      for (const XmlElement* c : with_class(doc, "lost")) lost += c->attr("data-gt") == std::to_string(gt);
      CHECK(positives == s.gts[static_cast<size_t>(gt)].positives);
      CHECK(lost == s.gts[static_cast<size_t>(gt)].lost);
      // Zoomed: the grid (negatives as dots) is drawn although the image has more than kMaxNegativeDots priors.
      CHECK(p.num_priors() > layout::kMaxNegativeDots);
      CHECK(count_class(doc, "negative") > 0);
      CHECK(with_class(doc, "image-title")[0]->text.find("zoomed on GT " + std::to_string(gt)) != std::string::npos);
      CHECK(with_class(doc, "legend-gt")[0]->attr("data-gt") == std::to_string(gt));  // GT I first
    }
    // --region: every drawn prior lies inside its panel's canvas, and every positive inside the region is drawn.
    render::SvgView region;
    region.region = std::array<double, 4>{100, 120, 400, 360};
    const XmlDocument doc = parse_svg(render::svg(r.batch, r.results, region));
    const auto canvases = with_class(doc, "canvas");
    REQUIRE(canvases.size() == 3);
    int64_t inside = 0;
    for (size_t i = 0; i < r.results[0].gt_inds.size(); ++i) {
      const auto x = static_cast<double>(p.priors(static_cast<Eigen::Index>(i), 0));
      const auto y = static_cast<double>(p.priors(static_cast<Eigen::Index>(i), 1));
      inside += r.results[0].gt_inds[i] > 0 && x >= 100 && x <= 400 && y >= 120 && y <= 360;
    }
    CHECK(count_class(doc, "positive") == inside);
    for (const char* c : {"positive", "negative", "lost"})
      for (const XmlElement* e : with_class(doc, c)) {
        bool in_some = false;
        for (const XmlElement* canvas : canvases) in_some |= in_rect(*canvas, e->number("cx"), e->number("cy"));
        CHECK(in_some);
      }
    for (const XmlElement* panel : with_class(doc, "panel")) CHECK(panel->attr("data-view") == "100 120 400 360");
  }
  // Views that do not fit the input.
  const Replay& r = demo[0];
  render::SvgView bad;
  bad.gt = 12;
  CHECK(render::check_svg_view(r.batch, bad).message() == "--gt 12: the image has 12 GTs; expected 0..11");
  bad.gt.reset();
  bad.image = 1;
  CHECK(render::check_svg_view(r.batch, bad).message() == "--image 1: the input is one image; expected 0");
  bad.image.reset();
  bad.region = std::array<double, 4>{10, 10, 5, 20};
  CHECK(render::check_svg_view(r.batch, bad).message().rfind("--region 10,10,5,20: expected", 0) == 0);
  CHECK(!render::parse_svg_region("1,2,3").ok());
  CHECK(!render::parse_svg_region("1,2,3,x").ok());
  CHECK(*render::parse_svg_region("1,2.5,3,4") == std::array<double, 4>{1, 2.5, 3, 4});
}

TEST_CASE("svg: the demo shows the README's facts: GTs 0/1/4 split their priors, GT 11 gets a positive in GT 9") {
  const std::vector<Replay> demo = replay_cases(testing::source_path("testdata/coco640-late-g12-objectness"));
  const Replay& r = demo_replay(demo, "dynamic-soft-label");
  const Problem& p = r.batch.images[0];
  const analysis::ImageStats s = analysis::compute_stats(p, r.results[0]);
  const XmlDocument doc = parse_svg(render::svg(r.batch, r.results));
  // The near-duplicates lose picks to each other: lost rings between 0, 1 and 4.
  int64_t among = 0;
  for (const XmlElement* e : with_class(doc, "lost")) {
    const std::set<std::string> dup = {"0", "1", "4"};
    among += dup.count(e->attr("data-gt")) == 1 && dup.count(e->attr("data-winner")) == 1;
  }
  CHECK(among > 0);
  // GT 11's positives lie outside its box: each has a connector.
  int64_t connectors_11 = 0;
  for (const XmlElement* e : with_class(doc, "connector")) connectors_11 += e->attr("data-gt") == "11";
  CHECK(connectors_11 > 0);
  CHECK(s.gts[11].positives > 0);
  // Per-level counts in the panel titles.
  const auto titles = with_class(doc, "panel-title");
  REQUIRE(titles.size() == s.levels.size());
  for (size_t l = 0; l < titles.size(); ++l)
    CHECK(titles[l]->text.find(fmt::format("{} positives", s.levels[l].positives)) != std::string::npos);
}

TEST_CASE("svg: a crowd of 1,000 GTs renders quickly and stays small") {
  // 1000 GTs on a 640 x 640 image, three levels (strides 8, 16, 32), GT g gets level-0 prior 6g.
  Problem p;
  std::vector<std::array<float, 4>> priors;
  std::vector<int64_t> counts;
  for (float stride : {8.0f, 16.0f, 32.0f}) {
    const auto side = static_cast<int64_t>(640.0f / stride);
    counts.push_back(side * side);
    for (int64_t i = 0; i < side * side; ++i) {
      const int64_t column = i % side, row = i / side;  // whole cells
      priors.push_back(
          {stride * (0.5f + static_cast<float>(column)), stride * (0.5f + static_cast<float>(row)), stride, stride});
    }
  }
  const auto n = static_cast<int64_t>(priors.size());
  p.set_num_priors(n);
  p.priors.resize(n, 4);
  for (int64_t i = 0; i < n; ++i)
    p.priors.row(i) << priors[static_cast<size_t>(i)][0], priors[static_cast<size_t>(i)][1],
        priors[static_cast<size_t>(i)][2], priors[static_cast<size_t>(i)][3];
  p.num_level_priors = counts;
  p.prior_level.assign(static_cast<size_t>(n), 0);
  for (int64_t i = counts[0]; i < n; ++i) p.prior_level[static_cast<size_t>(i)] = i < counts[0] + counts[1] ? 1 : 2;
  const int64_t num_gts = 1000;
  p.gt_bboxes.resize(num_gts, 4);
  std::vector<int64_t> gt_inds(static_cast<size_t>(n), 0);
  for (int64_t g = 0; g < num_gts; ++g) {
    const int64_t prior = 6 * g;
    const float x = priors[static_cast<size_t>(prior)][0], y = priors[static_cast<size_t>(prior)][1];
    p.gt_bboxes.row(g) << x - 6, y - 6, x + 6, y + 6;
    gt_inds[static_cast<size_t>(prior)] = g + 1;
  }
  p.gt_labels.assign(static_cast<size_t>(num_gts), 0);
  p.meta.image_size = std::array<int64_t, 2>{640, 640};
  p.mark(Field::kPriors);
  const auto start = std::chrono::steady_clock::now();
  const std::string text = render::svg(one_image(p), {hand_assignment(gt_inds, num_gts)});
  const double seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
  MESSAGE("1000-GT crowd: " << seconds << " s, " << text.size() << " bytes");
  CHECK(seconds < 1.0);
  CHECK(text.size() < 2000000);
  CHECK(count_class(parse_svg(text), "positive") == num_gts);
}

// --- the command line ------------------------------------------------------------

TEST_CASE("cli: run --format svg writes the picture, chosen by a .svg extension too, never over a user's file") {
  testing::TempDir tmp;
  const std::string toy = "testdata/golden/toy-two-overlapping-gts";
  // The reference's positives, from its stored results.
  const auto stored_positives = [&](const std::string& label) {
    auto stored = io::read_npy_file(testing::source_path(toy + "/expected/" + label + "/assigned_gt_inds.npy"));
    REQUIRE(stored.ok());
    int64_t positives = 0;
    for (int64_t i = 0; i < stored->size(); ++i) positives += stored->to_int64(i) > 0;
    return positives;
  };
  const int64_t positives = stored_positives("dynamic-soft-label");
  CHECK(positives == 15);

  auto r = testing::run_cli("run " + toy + " -a dynamic-soft-label -o '" + tmp.path("toy.svg") + "'");
  CHECK(r.exit_code == 0);
  CHECK(r.err.empty());
  const std::string text = testing::read_text(tmp.path("toy.svg"));
  const XmlDocument doc = parse_svg(text);
  CHECK(count_class(doc, "positive") == positives);
  CHECK(count_class(doc, "panel") == 2);
  CHECK(count_class(doc, "gt") == 2 * 2);

  r = testing::run_cli("run " + toy + " -a dynamic-soft-label -o '" + tmp.path("toy.svg") + "'");
  CHECK(r.exit_code == 2);
  CHECK(r.err.find(tmp.path("toy.svg")) != std::string::npos);
  CHECK(testing::read_text(tmp.path("toy.svg")) == text);
  r = testing::run_cli("run " + toy + " -a dynamic-soft-label --set topk=5 --force -o '" + tmp.path("toy.svg") + "'");
  CHECK(r.exit_code == 0);
  CHECK(count_class(parse_svg(testing::read_text(tmp.path("toy.svg"))), "positive") ==
        stored_positives("dynamic-soft-label+topk5"));

  // --format svg to a pipe, as json goes.
  r = testing::run_cli("run " + toy + " -a dynamic-soft-label --format svg");
  CHECK(r.exit_code == 0);
  CHECK(r.out == text);
  r = testing::run_cli("run " + toy + " -a dynamic-soft-label --format svg --include priors");
  CHECK(r.exit_code == 2);
  CHECK(r.err.find("--include") != std::string::npos);
}

TEST_CASE("cli: --gt, --region and --image on run and diff pictures, and their errors") {
  testing::TempDir tmp;
  const std::string demo = "testdata/coco640-late-g12-objectness", batch = "testdata/batch/stacked-b2";
  auto r = testing::run_cli("run " + demo + " -a dynamic-soft-label -f svg --gt 11");
  REQUIRE_MESSAGE(r.exit_code == 0, r.err);
  CHECK(count_class(parse_svg(r.out), "panel") == 3);
  r = testing::run_cli("run " + demo + " -a dynamic-soft-label -f svg --region 0,0,320,320");
  CHECK(r.exit_code == 0);
  // A batch: every image, or one.
  r = testing::run_cli("run " + batch + " -a simota -f svg");
  REQUIRE(r.exit_code == 0);
  const XmlDocument run_both = parse_svg(r.out);
  CHECK(count_class(run_both, "image") == 2);
  r = testing::run_cli("run " + batch + " -a simota -f svg --image 1");
  REQUIRE(r.exit_code == 0);
  const XmlDocument one = parse_svg(r.out);
  REQUIRE(count_class(one, "image") == 1);
  CHECK(with_class(one, "image")[0]->attr("id") == "image-1");
  // diff -f svg on a 2-image batch: one block per image, or --image K.
  r = testing::run_cli("diff " + batch + " -a simota -b atss -f svg");
  REQUIRE_MESSAGE(r.exit_code == 0, r.err);
  const XmlDocument both = parse_svg(r.out);
  CHECK(count_class(both, "image") == 2);
  CHECK(count_class(both, "panel") == count_class(run_both, "panel"));
  r = testing::run_cli("diff " + batch + " -a simota -b atss -f svg --image 0 --gt 0");
  REQUIRE_MESSAGE(r.exit_code == 0, r.err);
  CHECK(count_class(parse_svg(r.out), "image") == 1);
  // Errors: one line naming the flag and the valid range, exit 2.
  for (const auto& c : std::vector<std::pair<std::string, std::string>>{
           {"run " + batch + " -a simota -f svg --image 2", "--image 2: the batch holds 2 images; expected 0..1"},
           {"run " + batch + " -a simota -f svg --image -1", "--image -1: the batch holds 2 images; expected 0..1"},
           {"run " + demo + " -a simota -f svg --gt 12", "--gt 12: the image has 12 GTs; expected 0..11"},
           {"run " + demo + " -a simota -f json --gt 1", "--gt applies to --format svg"},
           {"run " + demo + " -a simota -f svg --region 1,2,3", "--region 1,2,3: expected x1,y1,x2,y2"},
           {"diff " + batch + " -a simota -b atss -f svg --image 5", "--image 5: the batch holds 2 images"},
           {"diff " + demo + " -a simota -b atss -f svg --gt 40", "--gt 40: the image has 12 GTs"}}) {
    CAPTURE(c.first);
    r = testing::run_cli(c.first);
    CHECK(r.exit_code == 2);
    CHECK(testing::count_lines(r.err) == 1);
    CHECK(r.err.find(c.second) != std::string::npos);
  }
}

TEST_CASE("cli: the pictures in the docs are what their commands draw today") {
  // docs/img/pictures.txt: FILE COMMAND... per line; tools/make_pictures.sh writes them.
  std::istringstream list(testing::read_text(testing::source_path("docs/img/pictures.txt")));
  testing::TempDir tmp;
  int compared = 0;
  for (std::string line; std::getline(list, line);) {
    std::istringstream fields(line.substr(0, line.find('#')));
    std::string file;
    if (!(fields >> file) || file.size() < 4 || file.compare(file.size() - 4, 4, ".svg") != 0) continue;
    std::string command;
    std::getline(fields >> std::ws, command);
    CAPTURE(line);
    const auto r = testing::run_cli(command + " -o '" + tmp.path(file) + "'");
    REQUIRE(r.exit_code == 0);
    CHECK_MESSAGE(testing::read_text(tmp.path(file)) == testing::read_text(testing::source_path("docs/img/" + file)),
                  ("docs/img/" + file + " is stale: regenerate the pictures with tools/make_pictures.sh"));
    ++compared;
  }
  CHECK(compared >= 5);  // the list was read: an empty or unreadable list compares nothing
}

}  // namespace assignscope
