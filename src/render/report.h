// `assignscope report`: one self-contained, offline, interactive HTML file
// of an assignment (or of two, side by side): the input image with one layer
// per pyramid level, the positives coloured by their GT, a tooltip per prior
// (index, level, IoU, the GT it went to, every cost term of its candidate
// pairs), a GT's candidates, top-k picks, positives and lost priors on click,
// a sortable per-GT table, a batch navigator, a diff mode and per-level and
// per-scale charts. Pure functions from values to text; the page's JS, CSS and
// HTML template are src/render/report_assets/, embedded into the binary at
// build time (report_assets.h): nothing is read or downloaded at run time.
//
// The data is inlined as <script type="application/json"
// id="assignscope-data"> (schema assignscope.report/1, report_data below),
// per-prior values as columns (arrays), coordinates rounded to 0.1 px and
// scores to 4 significant digits, so a 640x640 image with 100 GTs is a few
// hundred KB. Elements the browser test counts (tests/browser/report_test.mjs):
//   circle.positive[data-prior][data-gt][data-level]  one per positive prior of the side shown
//   rect.gt[data-gt], g.layer[data-level], input.layer-toggle[data-level]
//   #tooltip[data-prior]                             the hovered prior's details
//   circle.sel-candidate / .sel-picked / .sel-positive / .sel-lost[data-winner]
//   table#gt-table (th[data-key] sorts), tr[data-gt]
//   select#image-select (batches), select#side-select (a, b, diff)
//   circle.flip[data-kind], #diff-counts[data-pos-to-neg ...], table#diff-table
//   svg#chart-levels rect.bar, svg#chart-scales rect.bar
//   #tooltip .loss, span[data-loss] (with --loss)
#pragma once

#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "core/assignment.h"
#include "core/problem.h"
#include "loss/loss.h"

namespace assignscope::render {

inline constexpr const char* kReportSchema = "assignscope.report/1";

// One side of a report: the assigner's label as the command line settled it
// ("dynamic-soft-label", "task-aligned.ultralytics+yolo26-o2o") and its
// results, one per image of the batch.
struct ReportSide {
  std::string label;
  const std::vector<Assignment>* results = nullptr;
  // `report --loss HEAD`: the head's loss under `results` (one LossResult
  // for the batch): per-GT columns in the table, per-prior values in the
  // tooltip, the image's total in its summary.
  const loss::LossResult* loss = nullptr;
};

// The report's data: `b` given (results non-null), a diff of a and b per
// image too (analysis::diff_image).
nlohmann::ordered_json report_data(const Batch& batch, const ReportSide& a, const ReportSide& b = {});

// The whole page: the template with its CSS, JS and the data inlined ("</"
// inside the data written "<\/", so no name ends the script element).
std::string report_html(const Batch& batch, const ReportSide& a, const ReportSide& b = {});

}  // namespace assignscope::render
