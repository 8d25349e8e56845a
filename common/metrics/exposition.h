// The pieces of Prometheus's text exposition format 0.0.4
// (https://prometheus.io/docs/instrumenting/exposition_formats/) that need
// care: escaping and number formatting. The registry (registry.h) writes the
// lines with them.
#ifndef PYSERVICE_COMMON_METRICS_EXPOSITION_H_
#define PYSERVICE_COMMON_METRICS_EXPOSITION_H_

#include <string>
#include <utility>
#include <vector>

#include "absl/strings/string_view.h"

namespace pyservice::metrics {

// The Content-Type of a scrape answer in this format.
inline constexpr absl::string_view kExpositionContentType =
    "text/plain; version=0.0.4; charset=utf-8";

// HELP text: '\' -> "\\", newline -> "\n".
std::string EscapeHelp(absl::string_view help);
// Label values: also '"' -> "\"".
std::string EscapeLabelValue(absl::string_view value);

// Shortest text that reads back as the same double; "+Inf", "-Inf", "NaN".
std::string FormatValue(double value);

// `{a="x",b="y"}`, or "" for no labels. names.size() == values.size().
std::string FormatLabels(const std::vector<std::string>& names,
                         const std::vector<std::string>& values,
                         const std::pair<std::string, std::string>* extra = nullptr);

// Metric names: [a-zA-Z_:][a-zA-Z0-9_:]*. Label names: [a-zA-Z_][a-zA-Z0-9_]*,
// not starting "__" (reserved for Prometheus itself).
bool IsValidMetricName(absl::string_view name);
bool IsValidLabelName(absl::string_view name);

}  // namespace pyservice::metrics

#endif  // PYSERVICE_COMMON_METRICS_EXPOSITION_H_
