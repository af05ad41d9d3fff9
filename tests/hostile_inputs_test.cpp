// Hostile or odd inputs, class by class: each is refused early, in bounded
// time and memory, with one line naming the file and field and exit code 2
// — or replayed — but never a signal, a hang, an allocation of gigabytes or
// exit 3. Every CLI run here is under `timeout` and (but under
// AddressSanitizer, which maps terabytes of shadow) `ulimit -v`, so a hang
// or a runaway allocation fails the test instead of passing by luck.
#include <doctest/doctest.h>

#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <array>
#include <cmath>
#include <cstring>
#include <functional>
#include <cstdint>
#include <filesystem>
#include <limits>
#include <random>
#include <string>
#include <vector>

#include "assign/assigner.h"
#include "geometry/prior_grid.h"
#include "io/files.h"
#include "io/npy.h"
#include "test_support.h"
#include "zip_writer.h"

#if defined(__SANITIZE_ADDRESS__)
#define ASSIGNSCOPE_TEST_ASAN 1
#elif defined(__has_feature)
#if __has_feature(address_sanitizer)
#define ASSIGNSCOPE_TEST_ASAN 1
#endif
#endif

namespace assignscope {
namespace {

namespace fs = std::filesystem;
using testing::TempDir;

struct Run {
  int exit_code = -1;  // -1: killed by a signal or by the timeout
  std::string err;
};

// The CLI under `timeout 20` and, outside ASan, `ulimit -v 800000` (KiB).
Run run_bounded(const std::string& args) {
  TempDir tmp;
#ifdef ASSIGNSCOPE_TEST_ASAN
  const std::string cap;
#else
  const std::string cap = "ulimit -v 800000 && ";
#endif
  const std::string cmd = "cd '" + std::string(ASSIGNSCOPE_SOURCE_DIR) + "' && " + cap + "timeout -s KILL 20 '" +
                          ASSIGNSCOPE_BIN + "' " + args + " >/dev/null 2>'" + tmp.path("err") + "'";
  const int status = std::system(cmd.c_str());
  Run r;
  r.exit_code = WIFEXITED(status) ? WEXITSTATUS(status) : -1;
  if (r.exit_code == 137) r.exit_code = -1;  // timeout's KILL
  r.err = testing::read_text(tmp.path("err"));
  return r;
}

void check_refused(const Run& r, const std::vector<std::string>& words) {
  CAPTURE(r.err);
  CHECK(r.exit_code == 2);
  std::string last = r.err;
  if (last.size() > 1 && last.back() == '\n') last.pop_back();
  const size_t line = last.rfind('\n');
  if (line != std::string::npos) last = last.substr(line + 1);  // warnings may come before the error
  CHECK(last.rfind("assignscope ", 0) == 0);
  for (const std::string& w : words) CHECK_MESSAGE(last.find(w) != std::string::npos, w);
}

std::vector<unsigned char> f32_body(const std::vector<float>& v) {
  std::vector<unsigned char> out(v.size() * 4);
  std::memcpy(out.data(), v.data(), out.size());
  return out;
}

void write_text(const std::string& path, const std::string& text) {
  REQUIRE(io::write_file_atomic(path, text, /*overwrite=*/true).ok());
}

// A small valid dump directory: 4 stride-8 priors in a row, 1 GT.
void toy_dump(const std::string& dir) {
  fs::create_directories(dir);
  const auto save = [&](const std::string& name, const std::vector<unsigned char>& bytes) {
    testing::write_bytes(dir + "/" + name + ".npy", bytes);
  };
  const std::vector<float> priors = {4, 4, 8, 8, 12, 4, 8, 8, 20, 4, 8, 8, 28, 4, 8, 8};
  const std::vector<float> scores = {0, 1, 2, -1, 0, 0, 1, 1};
  const std::vector<float> preds = {0, 0, 8, 8, 8, 0, 16, 8, 16, 0, 24, 8, 24, 0, 32, 8};
  const std::vector<float> gts = {1, 1, 15, 7};
  const std::vector<int64_t> labels = {1};
  save("priors", io::npy_bytes(priors.data(), {4, 4}));
  save("cls_scores", io::npy_bytes(scores.data(), {4, 2}));
  save("pred_bboxes", io::npy_bytes(preds.data(), {4, 4}));
  save("gt_bboxes", io::npy_bytes(gts.data(), {1, 4}));
  save("gt_labels", io::npy_bytes(labels.data(), {1}));
  write_text(dir + "/meta.json", R"({"version": 1, "image_size": [64, 64]})");
}

}  // namespace

TEST_CASE("hostile: non-finite and extreme priors through every assigner — never a signal") {
  // --allow-nonfinite with a NaN prior (a NaN row holds no grid row: once a
  // division by zero), strides of inf (anchors of inf - inf = NaN centres)
  // and 1e-30 (a grid of 1e31 columns: once an overflowing conversion).
  std::mt19937 rng(5);
  for (const float bad : {std::numeric_limits<float>::quiet_NaN(), std::numeric_limits<float>::infinity(), 1e-30f}) {
    Problem p = testing::make_problem({{4, 4, 8, 8}, {12, 4, 8, 8}, {20, 4, 8, 8}, {28, 4, 8, 8}},
                                      {{0, 0, 8, 8}, {8, 0, 16, 8}, {16, 0, 24, 8}, {24, 0, 32, 8}},
                                      {{0, 1}, {2, -1}, {0, 0}, {1, 1}}, {{1, 1, 15, 7}}, {1});
    if (std::isnan(bad)) p.priors(1, 0) = bad;
    else p.priors.col(2) = bad, p.priors.col(3) = bad;
    p.objectness = {0, 0, 0, 0};
    p.centerness = {0, 0, 0, 0};
    p.anchors = Rows4f(4, 4);
    for (int i = 0; i < 4; ++i)
      p.anchors.row(i) << 8.0f * static_cast<float>(i), 0, 8.0f * static_cast<float>(i) + 8, 8;
    for (Field f : {Field::kObjectness, Field::kAnchors, Field::kCenterness}) p.mark(f);
    p.meta.image_size = std::array<int64_t, 2>{64, 64};
    Batch batch;
    batch.source = "scene";
    batch.images.push_back(p);
    for (const assign::AssignerInfo& info : assign::registry()) {
      CAPTURE(info.name);
      CAPTURE(bad);
      const auto r = assign::assign_batch(info, assign::default_params(info), batch);
      if (!r.ok()) CHECK(r.status().kind() != ErrorKind::kInternal);
    }
  }
}

TEST_CASE("hostile: coordinates near float32's limit take the dense search, so both searches agree") {
  // GT areas overflow float32 (w * h > 3.4e38) and IoUs turn NaN: the sparse
  // bounds do not hold there (a YOLOX replay once differed), so the sparse
  // search stands aside and both give the reference's result.
  std::mt19937 rng(11);
  std::uniform_real_distribution<double> u(0.0, 1.0);
  int scenes = 0;
  for (int s = 0; s < 40; ++s) {
    std::vector<std::array<float, 4>> priors, preds;
    std::vector<std::vector<float>> logits;
    for (int y = 0; y < 8; ++y)
      for (int x = 0; x < 8; ++x) {
        const float cx = 8.0f * static_cast<float>(x) + 4, cy = 8.0f * static_cast<float>(y) + 4;
        priors.push_back({cx, cy, 8, 8});
        const auto d = [&]() { return static_cast<float>(2 + 18 * u(rng)); };
        preds.push_back({cx - d(), cy - d(), cx + d(), cy + d()});
        logits.push_back({static_cast<float>(4 * u(rng) - 2), static_cast<float>(4 * u(rng) - 2)});
      }
    if (s % 3 == 0) preds[5] = {-3e38f, -3e38f, 3e38f, 3e38f};
    std::vector<std::array<float, 4>> gts = {{10, 10, 30, 30}};
    const double e = std::pow(10.0, 1 + 37.5 * u(rng)), w = std::pow(10.0, 37.5 * u(rng));
    const double cx = (2 * u(rng) - 1) * e, cy = (2 * u(rng) - 1) * e;
    const auto clampf = [](double v) { return static_cast<float>(std::clamp(v, -3.4e38, 3.4e38)); };
    gts.push_back({clampf(cx - w), clampf(cy - w), clampf(cx + w), clampf(cy + w)});
    Problem p = testing::make_problem(priors, preds, logits, gts, {0, 1});
    p.objectness.assign(64, 0.5f);
    p.mark(Field::kObjectness);
    scenes += !geometry::sparse_search_range(p);
    for (const assign::AssignerInfo& info : assign::registry()) {
      if (std::none_of(info.params.begin(), info.params.end(), [](const ParamSpec& q) { return q.name == "search"; }))
        continue;
      if (info.name == "fcos") continue;  // its five default ranges do not fit one level
      CAPTURE(info.name);
      CAPTURE(s);
      Params params = assign::default_params(info);
      const Assignment sparse = info.make(params)->assign(p);
      REQUIRE(params.set("search", "dense").ok());
      const Assignment dense = info.make(params)->assign(p);
      CHECK(sparse.gt_inds == dense.gt_inds);
    }
  }
  CHECK(scenes > 25);  // most scenes reach beyond +-1e18
}

TEST_CASE("hostile: a negative soft_center_radius replays in bounded time, sparse as dense") {
  // Once an endless loop: the search squares grew from a negative radius.
  for (const char* r : {"-5", "-0.5"}) {
    CAPTURE(r);
    Problem p = testing::make_problem({{4, 4, 8, 8}, {12, 4, 8, 8}, {20, 4, 8, 8}, {28, 4, 8, 8}},
                                      {{0, 0, 8, 8}, {8, 0, 16, 8}, {16, 0, 24, 8}, {24, 0, 32, 8}},
                                      {{0, 1}, {2, -1}, {0, 0}, {1, 1}}, {{1, 1, 15, 7}, {40, 40, 60, 60}}, {1, 0});
    for (const char* name : {"dynamic-soft-label", "dynamic-soft-label.mmyolo"}) {
      const Assignment sparse = testing::run_assigner(name, p, {{"soft_center_radius", r}});
      const Assignment dense = testing::run_assigner(name, p, {{"soft_center_radius", r}, {"search", "dense"}});
      CHECK(sparse.gt_inds == dense.gt_inds);
    }
  }
}

TEST_CASE("hostile: FIFOs, devices, link loops and directories where a dump's files should be") {
  TempDir tmp;
  const std::string base = tmp.path("base");
  toy_dump(base);
  const auto variant = [&](const std::string& name, const std::string& file,
                           const std::function<void(const std::string&)>& make) {
    std::string dir = tmp.path(name);
    fs::copy(base, dir);
    fs::remove(dir + "/" + file);
    make(dir + "/" + file);
    return dir;
  };
  struct Case {
    std::string dir;
    std::vector<std::string> words;
  };
  const std::vector<Case> cases = {
      {variant("fifo-meta", "meta.json", [](const std::string& p) { REQUIRE(mkfifo(p.c_str(), 0600) == 0); }),
       {"meta.json: is a FIFO; expected a regular file"}},
      {variant("zero-meta", "meta.json", [](const std::string& p) { fs::create_symlink("/dev/zero", p); }),
       {"meta.json: is a character device"}},
      {variant("fifo-field", "priors.npy", [](const std::string& p) { REQUIRE(mkfifo(p.c_str(), 0600) == 0); }),
       {"priors.npy: is a FIFO; expected a regular file"}},
      {variant("dir-field", "priors.npy", [](const std::string& p) { fs::create_directory(p); }),
       {"priors.npy: is a directory; expected a field's .npy file"}},
      {variant("loop-field", "priors.npy", [](const std::string& p) { fs::create_symlink(p, p); }),
       {"priors.npy: is a symbolic link loop"}},
      {variant("broken-field", "priors.npy", [](const std::string& p) { fs::create_symlink(p + ".gone", p); }),
       {"priors.npy: is a symbolic link to nothing"}},
  };
  for (const Case& c : cases) {
    CAPTURE(c.dir);
    check_refused(run_bounded("run '" + c.dir + "' -a atss -f json"), c.words);
  }
  // The dump itself a link to itself, and a batch directory holding one.
  fs::create_symlink(tmp.path("self"), tmp.path("self"));
  check_refused(run_bounded("run '" + tmp.path("self") + "' -a atss"), {"self: is a symbolic link loop"});
  fs::create_directories(tmp.path("batch"));
  fs::copy(base, tmp.path("batch/a"));
  fs::create_symlink(tmp.path("batch/b"), tmp.path("batch/b"));
  check_refused(run_bounded("run '" + tmp.path("batch") + "' -a atss"), {"batch/b: is a symbolic link loop"});
}

TEST_CASE("hostile: small files that imply millions of levels, ignore boxes or plan entries") {
  TempDir tmp;
  const std::vector<float> four_priors = {4, 4, 8, 8, 12, 4, 8, 8, 20, 4, 8, 8, 28, 4, 8, 8};
  const auto npz = [&](const std::string& name, const std::vector<testing::Member>& members) {
    std::string path = tmp.path(name);
    testing::write_bytes(path, testing::zip_archive(members));
    CHECK(fs::file_size(path) < 1024 * 1024);  // every input here is under 1 MB
    return path;
  };
  const auto priors_member = [&](const std::vector<float>& v) {
    return testing::deflated_member("priors.npy",
                                    testing::npy_header("<f4", "(" + std::to_string(v.size() / 4) + ", 4)"),
                                    f32_body(v));
  };
  const auto gt_members = [&](int64_t g, std::array<float, 4> box) {
    std::vector<float> boxes;
    std::vector<int64_t> labels(static_cast<size_t>(g), 0);
    for (int64_t i = 0; i < g; ++i) boxes.insert(boxes.end(), box.begin(), box.end());
    std::vector<unsigned char> label_bytes(labels.size() * 8, 0);
    return std::vector<testing::Member>{
        testing::deflated_member("gt_bboxes.npy", testing::npy_header("<f4", "(" + std::to_string(g) + ", 4)"),
                                 f32_body(boxes)),
        testing::deflated_member("gt_labels.npy", testing::npy_header("<i8", "(" + std::to_string(g) + ",)"),
                                 label_bytes)};
  };
  // 10 million empty levels (and the four priors in the last).
  {
    std::vector<unsigned char> counts(10'000'000 * 8, 0);
    const int64_t four = 4;
    std::memcpy(counts.data() + counts.size() - 8, &four, 8);
    std::vector<testing::Member> m = gt_members(1, {1, 1, 15, 7});
    m.push_back(priors_member(four_priors));
    m.push_back(testing::deflated_member("num_level_priors.npy", testing::npy_header("<i8", "(10000000,)"), counts));
    check_refused(run_bounded("run '" + npz("levels.npz", m) + "' -a max-iou -f json"),
                  {"num_level_priors.npy: 10000000 pyramid levels; expected at most 1024"});
  }
  // Strides alternating 8, 16, 8, ... read as runs of equal stride: 30,000 levels.
  {
    std::vector<float> priors;
    for (int i = 0; i < 30000; ++i)
      priors.insert(priors.end(), {4.0f * static_cast<float>(i % 100), 4, i % 2 ? 16.0f : 8.0f, i % 2 ? 16.0f : 8.0f});
    std::vector<testing::Member> m = gt_members(1, {1, 1, 15, 7});
    m.push_back(priors_member(priors));
    check_refused(run_bounded("run '" + npz("alternating.npz", m) + "' -a max-iou -f json"),
                  {"priors.npy: the stride changes 29999 times along the priors", "more than 1024"});
  }
  // Two million identical ignore boxes against 30,000 anchors.
  {
    std::vector<float> priors;
    for (int i = 0; i < 30000; ++i) {
      const int row = i / 150;
      priors.insert(priors.end(),
                    {4.0f + 8.0f * static_cast<float>(i % 150), 4.0f + 8.0f * static_cast<float>(row), 8, 8});
    }
    std::vector<float> ignore;
    for (int i = 0; i < 2'000'000; ++i) ignore.insert(ignore.end(), {10, 10, 20, 20});
    std::vector<testing::Member> m = gt_members(1, {1, 1, 15, 7});
    m.push_back(priors_member(priors));
    m.push_back(
        testing::deflated_member("gt_bboxes_ignore.npy", testing::npy_header("<f4", "(2000000, 4)"), f32_body(ignore)));
    check_refused(run_bounded("run '" + npz("ignore.npz", m) + "' -a max-iou --set ignore_iof_thr=0.5 -f json"),
                  {"N x K = 30000 x 2000000 (prior, ignore box) pairs is more than this version handles"});
  }
  // OTA on 3,000 GTs and 8,400 priors. GTs holding no prior point have no candidate, and the sparse
  // Sinkhorn holds each of their rows in full: 25 million entries, 50 times, refused. 3,000 large
  // GTs have 25 candidates each and supplies of 20 (60,000 > 8,400): a plan NaN throughout,
  // replayed at once.
  {
    std::vector<float> priors;
    for (int i = 0; i < 8400; ++i) {
      const int row = i / 80;
      priors.insert(priors.end(),
                    {4.0f + 8.0f * static_cast<float>(i % 80), 4.0f + 8.0f * static_cast<float>(row), 8, 8});
    }
    for (const bool tiny : {true, false}) {
      std::vector<testing::Member> m =
          gt_members(3000, tiny ? std::array<float, 4>{1, 1, 2, 2} : std::array<float, 4>{100, 100, 300, 300});
      m.push_back(priors_member(priors));
      m.push_back(testing::deflated_member("cls_scores.npy", testing::npy_header("<f4", "(8400, 1)"),
                                           f32_body(std::vector<float>(8400, 0.0f))));
      std::vector<float> preds;
      for (int i = 0; i < 8400; ++i) preds.insert(preds.end(), {100, 100, 300, 300});
      m.push_back(
          testing::deflated_member("pred_bboxes.npy", testing::npy_header("<f4", "(8400, 4)"), f32_body(preds)));
      const Run r = run_bounded("run '" + npz(tiny ? "ota-tiny.npz" : "ota.npz", m) + "' -a ota -f json");
      if (tiny) check_refused(r, {"ota: 25208400 plan entries an iteration updates", "is more than this version runs"});
      else CHECK(r.exit_code == 0);
    }
  }
  // 2,000 identical image-sized GTs over 8,400 priors: 16.8 million (prior, GT) pairs with the centre
  // inside, each costed and reported (was 20 s and 1.2 GB, and more with --include candidates).
  // 100 of them, 840,000 pairs, replay within the caps.
  {
    std::vector<float> priors, preds;
    for (int i = 0; i < 8400; ++i) {
      const int row = i / 80;
      const float x = 4.0f + 8.0f * static_cast<float>(i % 80), y = 4.0f + 8.0f * static_cast<float>(row);
      priors.insert(priors.end(), {x, y, 8, 8});
      preds.insert(preds.end(), {x - 20, y - 20, x + 20, y + 20});
    }
    for (const int64_t g : {int64_t{2000}, int64_t{100}}) {
      std::vector<testing::Member> m = gt_members(g, {0, 0, 640, 840});
      m.push_back(priors_member(priors));
      m.push_back(testing::deflated_member("cls_scores.npy", testing::npy_header("<f4", "(8400, 1)"),
                                           f32_body(std::vector<float>(8400, -2.0f))));
      m.push_back(
          testing::deflated_member("pred_bboxes.npy", testing::npy_header("<f4", "(8400, 4)"), f32_body(preds)));
      const std::string dump = npz("repeated-" + std::to_string(g) + ".npz", m);
      for (const char* assigner : {"dynamic-soft-label", "task-aligned", "simota"}) {
        CAPTURE(assigner);
        const Run r = run_bounded("run '" + dump + "' -a " + assigner + " -f json --include candidates");
        if (g == 2000) {
          check_refused(r, {"prior centres lie inside GT boxes 16800000 times",
                            "more (prior, GT) pairs to cost than "
                            "this version handles (4194304)"});
        } else {  // 840,000 pairs replay, but are too many for a JSON report
          CHECK(run_bounded("run '" + dump + "' -a " + assigner + " -f json").exit_code == 0);
          if (std::string(assigner) != "simota")  // simota records only its candidate_topk nearest
            check_refused(r, {"--include candidates: the replay recorded 840000 candidate pairs", "(262144)"});
        }
      }
    }
  }
}

TEST_CASE("hostile: values the data makes nonsense of") {
  TempDir tmp;
  const std::string base = tmp.path("base");
  toy_dump(base);
  write_text(base + "/meta.json", R"({"version": 1, "image_size": [0.5, 0.5]})");
  check_refused(run_bounded("run '" + base + "' -a atss"),
                {"meta key 'image_size'", "expected [height, width], two positive integers (pixels)"});
  write_text(tmp.path("big.json"),
             "{\"priors\": [[4, 4, 8, 8]],\n \"cls_scores\": [[1e999]], \"gt_bboxes\": [], \"gt_labels\": []}");
  check_refused(run_bounded("run '" + tmp.path("big.json") + "' -a atss"),
                {"big.json: not valid JSON at line 2, column 18: number overflow parsing '1e999'"});
}

}  // namespace assignscope
