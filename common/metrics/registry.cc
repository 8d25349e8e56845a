#include "common/metrics/registry.h"

#include <algorithm>
#include <cmath>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "common/metrics/exposition.h"
#include "spdlog/spdlog.h"

namespace pyservice::metrics {
namespace {

// `name{labels}` / `name{labels,extra}` / `name`.
std::string SeriesName(absl::string_view name, absl::string_view labels,
                       absl::string_view extra = "") {
  if (labels.empty() && extra.empty()) return std::string(name);
  return absl::StrCat(name, "{", labels, !labels.empty() && !extra.empty() ? "," : "", extra,
                      "}");
}

}  // namespace

void Counter::Inc(double amount) {
  if (amount > 0) value_.fetch_add(amount);
}

Histogram::Histogram(const std::vector<double>* bounds)
    : bounds_(bounds), counts_(bounds->size() + 1, 0) {}

void Histogram::Observe(double value) {
  // Buckets are "less than or equal": the first bound >= value.
  const size_t bucket =
      std::lower_bound(bounds_->begin(), bounds_->end(), value) - bounds_->begin();
  absl::MutexLock lock(&mu_);
  ++counts_[bucket];
  sum_ += value;
}

Histogram::Snapshot Histogram::Read() const {
  Snapshot snapshot;
  absl::MutexLock lock(&mu_);
  uint64_t running = 0;
  for (const uint64_t count : counts_) {
    running += count;
    snapshot.cumulative.push_back(running);
  }
  snapshot.count = running;
  snapshot.sum = sum_;
  return snapshot;
}

FamilyBase::FamilyBase(std::string name, std::string help, std::string type,
                       std::vector<std::string> label_names)
    : name_(std::move(name)),
      help_(std::move(help)),
      type_(std::move(type)),
      label_names_(std::move(label_names)) {}

void FamilyBase::Clear() {
  absl::MutexLock lock(&mu_);
  series_.clear();
}

void* FamilyBase::Find(std::vector<std::string> values) {
  if (values.size() != label_names_.size()) {
    spdlog::error("metrics: {} takes {} label values ({}), got {}", name_, label_names_.size(),
                  absl::StrJoin(label_names_, ","), values.size());
    values.resize(label_names_.size());
  }
  absl::MutexLock lock(&mu_);
  if (auto found = series_.find(values); found != series_.end()) return found->second.get();
  if (series_.size() >= max_series_) {
    if (overflow_ == nullptr) {
      spdlog::error("metrics: {} has {} series, its limit: new label values are not counted",
                    name_, max_series_);
      overflow_ = MakeSeries();
    }
    return overflow_.get();
  }
  std::shared_ptr<void>& series = series_[std::move(values)];
  series = MakeSeries();
  return series.get();
}

void FamilyBase::Render(std::string& out) const {
  absl::StrAppend(&out, "# HELP ", name_, " ", EscapeHelp(help_), "\n# TYPE ", name_, " ",
                  type_, "\n");
  absl::MutexLock lock(&mu_);
  for (const auto& [values, series] : series_) {
    std::string labels = FormatLabels(label_names_, values);
    if (!labels.empty()) labels = labels.substr(1, labels.size() - 2);  // without the braces
    RenderSeries(labels, series.get(), out);
  }
}

void CounterFamily::RenderSeries(const std::string& labels, const void* series,
                                 std::string& out) const {
  absl::StrAppend(&out, SeriesName(name_, labels), " ",
                  FormatValue(static_cast<const Counter*>(series)->value()), "\n");
}

void GaugeFamily::RenderSeries(const std::string& labels, const void* series,
                               std::string& out) const {
  absl::StrAppend(&out, SeriesName(name_, labels), " ",
                  FormatValue(static_cast<const Gauge*>(series)->value()), "\n");
}

HistogramFamily::HistogramFamily(std::string name, std::string help,
                                 std::vector<std::string> label_names,
                                 std::vector<double> bounds)
    : FamilyBase(std::move(name), std::move(help), "histogram", std::move(label_names)),
      bounds_(std::move(bounds)) {}

void HistogramFamily::RenderSeries(const std::string& labels, const void* series,
                                   std::string& out) const {
  const Histogram::Snapshot snapshot = static_cast<const Histogram*>(series)->Read();
  const std::string bucket = absl::StrCat(name_, "_bucket");
  for (size_t i = 0; i < snapshot.cumulative.size(); ++i) {
    const std::string le = i < bounds_.size() ? FormatValue(bounds_[i]) : "+Inf";
    absl::StrAppend(&out, SeriesName(bucket, labels, absl::StrCat("le=\"", le, "\"")), " ",
                    snapshot.cumulative[i], "\n");
  }
  absl::StrAppend(&out, SeriesName(absl::StrCat(name_, "_sum"), labels), " ",
                  FormatValue(snapshot.sum), "\n");
  absl::StrAppend(&out, SeriesName(absl::StrCat(name_, "_count"), labels), " ", snapshot.count,
                  "\n");
}

absl::Status Registry::CheckNew(absl::string_view name,
                                const std::vector<std::string>& label_names) {
  if (!IsValidMetricName(name)) {
    return absl::InvalidArgumentError(
        absl::StrCat("metric name \"", name, "\" must match [a-zA-Z_:][a-zA-Z0-9_:]*"));
  }
  for (const std::string& label : label_names) {
    if (!IsValidLabelName(label)) {
      return absl::InvalidArgumentError(absl::StrCat(
          "metric ", name, ": label name \"", label,
          "\" must match [a-zA-Z_][a-zA-Z0-9_]* and not start with __"));
    }
  }
  for (const auto& family : families_) {
    if (family->name() == name) {
      return absl::InvalidArgumentError(absl::StrCat("metric ", name, " is registered twice"));
    }
  }
  return absl::OkStatus();
}

absl::StatusOr<CounterFamily*> Registry::AddCounter(std::string name, std::string help,
                                                    std::vector<std::string> label_names) {
  absl::MutexLock lock(&mu_);
  if (absl::Status status = CheckNew(name, label_names); !status.ok()) return status;
  auto family = std::make_unique<CounterFamily>(std::move(name), std::move(help), "counter",
                                                std::move(label_names));
  family->set_max_series(max_series_per_family_);
  CounterFamily* raw = family.get();
  families_.push_back(std::move(family));
  return raw;
}

absl::StatusOr<GaugeFamily*> Registry::AddGauge(std::string name, std::string help,
                                                std::vector<std::string> label_names) {
  absl::MutexLock lock(&mu_);
  if (absl::Status status = CheckNew(name, label_names); !status.ok()) return status;
  auto family = std::make_unique<GaugeFamily>(std::move(name), std::move(help), "gauge",
                                              std::move(label_names));
  family->set_max_series(max_series_per_family_);
  GaugeFamily* raw = family.get();
  families_.push_back(std::move(family));
  return raw;
}

absl::StatusOr<HistogramFamily*> Registry::AddHistogram(std::string name, std::string help,
                                                        std::vector<std::string> label_names,
                                                        std::vector<double> bounds) {
  absl::MutexLock lock(&mu_);
  if (absl::Status status = CheckNew(name, label_names); !status.ok()) return status;
  if (std::find(label_names.begin(), label_names.end(), "le") != label_names.end()) {
    return absl::InvalidArgumentError(
        absl::StrCat("histogram ", name, ": \"le\" is the bucket label, not one of yours"));
  }
  bool increasing = !bounds.empty();
  for (size_t i = 0; i < bounds.size(); ++i) {
    if (!std::isfinite(bounds[i]) || (i > 0 && bounds[i] <= bounds[i - 1])) increasing = false;
  }
  if (!increasing) {
    return absl::InvalidArgumentError(absl::StrCat(
        "histogram ", name, ": bucket bounds must be finite and strictly increasing"));
  }
  auto family = std::make_unique<HistogramFamily>(std::move(name), std::move(help),
                                                  std::move(label_names), std::move(bounds));
  family->set_max_series(max_series_per_family_);
  HistogramFamily* raw = family.get();
  families_.push_back(std::move(family));
  return raw;
}

void Registry::AddCollector(std::function<void()> collector) {
  absl::MutexLock lock(&mu_);
  collectors_.push_back(std::move(collector));
}

std::string Registry::Render() {
  absl::MutexLock render_lock(&render_mu_);
  std::vector<std::function<void()>> collectors;
  {
    absl::MutexLock lock(&mu_);
    collectors = collectors_;
  }
  for (const auto& collector : collectors) collector();
  std::string out;
  absl::MutexLock lock(&mu_);
  for (const auto& family : families_) family->Render(out);
  return out;
}

}  // namespace pyservice::metrics
