// A head's loss under an assignment (loss/loss.h) for people and tools:
// `run --loss HEAD` as a table, JSON (schema assignscope.loss/1) or CSV (one
// row per GT), and `diff --loss HEAD` (schema assignscope.loss-diff/1): how
// each component moves between two assignments, in total, per level and per
// GT.
#pragma once

#include <string>

#include <nlohmann/json.hpp>

#include "core/problem.h"
#include "loss/loss.h"

namespace assignscope::render {

inline constexpr const char* kLossSchema = "assignscope.loss/1";
inline constexpr const char* kLossDiffSchema = "assignscope.loss-diff/1";

// Totals and per level, then one row per GT: image, GT, class, positives and
// each component (weighted and normalised as the head returns them).
std::string loss_table(const Batch& batch, const loss::LossResult& r);
nlohmann::ordered_json loss_json(const Batch& batch, const loss::LossResult& r);
// Header image,gt,label,positives,<components>,assigner,head; one row per GT.
std::string loss_csv(const Batch& batch, const loss::LossResult& r);

// a and b: the same head on the same batch under two assignments.
std::string loss_diff_table(const Batch& batch, const loss::LossResult& a, const loss::LossResult& b);
nlohmann::ordered_json loss_diff_json(const Batch& batch, const loss::LossResult& a, const loss::LossResult& b);

}  // namespace assignscope::render
