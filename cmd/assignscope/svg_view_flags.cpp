// --gt, --region, --image: the view `run -f svg` and `diff -f svg` draw.
#include <CLI/CLI.hpp>
#include <fmt/format.h>

#include "commands.h"
#include "render/svg.h"

namespace assignscope::cli {

void add_svg_view_flags(CLI::App& app, SvgViewFlags& f) {
  f.gt_option = app.add_option("--gt", f.gt,
                               "svg: zoom each level panel on GT I (0-based) with its prior grid, candidates, picks, "
                               "positives and lost priors");
  app.add_option("--region", f.region, "svg: zoom on x1,y1,x2,y2 (input pixels), with the prior grid inside it");
  f.image_option = app.add_option("--image", f.image, "svg: draw only image K (0-based) of a batch");
}

Result<render::SvgView> settle_svg_view(SvgViewFlags& f, const std::string& format) {
  f.gt_given = f.gt_option != nullptr && f.gt_option->count() > 0;
  f.image_given = f.image_option != nullptr && f.image_option->count() > 0;
  render::SvgView view;
  if (!f.gt_given && !f.image_given && f.region.empty()) return view;
  if (format != "svg") {
    const char* flag = f.gt_given ? "--gt" : f.image_given ? "--image" : "--region";
    return Status::Usage(fmt::format("{} applies to --format svg (the picture), and the output is {}", flag, format));
  }
  if (f.gt_given) view.gt = f.gt;
  if (f.image_given) view.image = f.image;
  if (!f.region.empty()) {
    ASSIGNSCOPE_ASSIGN_OR_RETURN(view.region, render::parse_svg_region(f.region));
  }
  return view;
}

}  // namespace assignscope::cli
