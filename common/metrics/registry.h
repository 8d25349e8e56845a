// Prometheus metrics: counters, gauges and histograms with labels, kept in a
// Registry that renders them in the text exposition format 0.0.4
// (exposition.h) for GET /metrics (metrics_endpoint.h).
//
// Families are registered once at start-up (a bad name is an error then,
// not at scrape time); their series are created on first use and live as
// long as the registry (or until their family's Clear()), so a reference to
// one may be kept. Updating a series is thread-safe and cheap (an atomic, or
// a small lock for histograms).
//
// Values that mirror current state (hosts per state, a rollout's state) are
// best read at scrape time rather than tracked by every writer: a collector
// (AddCollector) runs before each render and sets gauges, after Clear() for a
// family whose series come and go (an app deleted must not linger).
#ifndef PYSERVICE_COMMON_METRICS_REGISTRY_H_
#define PYSERVICE_COMMON_METRICS_REGISTRY_H_

#include <atomic>
#include <functional>
#include <map>
#include <memory>
#include <string>
#include <vector>

#include "absl/base/thread_annotations.h"
#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "absl/synchronization/mutex.h"

namespace pyservice::metrics {

class Counter {
 public:
  // A negative amount is ignored: a counter only goes up.
  void Inc(double amount = 1);
  double value() const { return value_.load(); }

 private:
  std::atomic<double> value_{0};
};

class Gauge {
 public:
  void Set(double value) { value_.store(value); }
  void Add(double amount) { value_.fetch_add(amount); }
  double value() const { return value_.load(); }

 private:
  std::atomic<double> value_{0};
};

class Histogram {
 public:
  explicit Histogram(const std::vector<double>* bounds);
  void Observe(double value);

  struct Snapshot {
    std::vector<uint64_t> cumulative;  // per bound, then +Inf
    double sum = 0;
    uint64_t count = 0;
  };
  Snapshot Read() const;

 private:
  const std::vector<double>* bounds_;
  mutable absl::Mutex mu_;
  std::vector<uint64_t> counts_ ABSL_GUARDED_BY(mu_);  // per bucket, last is +Inf
  double sum_ ABSL_GUARDED_BY(mu_) = 0;
};

// The metrics of one name, one series per set of label values.
class FamilyBase {
 public:
  FamilyBase(std::string name, std::string help, std::string type,
             std::vector<std::string> label_names);
  // Beyond `max_series` label sets, a new one is counted nowhere (logged
  // once): label values that come from outside (an app or step name an
  // agent reports) must not grow the controller's memory and every scrape
  // without bound.
  void set_max_series(size_t max_series) { max_series_ = max_series; }
  virtual ~FamilyBase() = default;
  FamilyBase(const FamilyBase&) = delete;
  FamilyBase& operator=(const FamilyBase&) = delete;

  const std::string& name() const { return name_; }
  // Drops every series: the next render shows only those set again. For
  // families only a collector writes: it invalidates references to series.
  void Clear();
  // Appends "# HELP", "# TYPE" and every series.
  void Render(std::string& out) const;

 protected:
  // The series for `values` (one per label name, in order), created the
  // first time. A wrong number of values is a programming error: logged, and
  // the values are padded or cut to fit rather than dropping the update.
  void* Find(std::vector<std::string> values);
  virtual std::shared_ptr<void> MakeSeries() const = 0;
  virtual void RenderSeries(const std::string& labels_without_braces, const void* series,
                            std::string& out) const = 0;

  const std::string name_;
  const std::string help_;
  const std::string type_;
  const std::vector<std::string> label_names_;

 private:
  size_t max_series_ = 10000;
  mutable absl::Mutex mu_;
  // Where updates of label sets over max_series_ go: kept, never rendered.
  std::shared_ptr<void> overflow_ ABSL_GUARDED_BY(mu_);
  // Ordered so that a scrape lists series in a stable order.
  std::map<std::vector<std::string>, std::shared_ptr<void>> series_ ABSL_GUARDED_BY(mu_);
};

class CounterFamily final : public FamilyBase {
 public:
  using FamilyBase::FamilyBase;
  Counter& Labels(std::vector<std::string> values) {
    return *static_cast<Counter*>(Find(std::move(values)));
  }

 private:
  std::shared_ptr<void> MakeSeries() const override { return std::make_shared<Counter>(); }
  void RenderSeries(const std::string& labels, const void* series,
                    std::string& out) const override;
};

class GaugeFamily final : public FamilyBase {
 public:
  using FamilyBase::FamilyBase;
  Gauge& Labels(std::vector<std::string> values) {
    return *static_cast<Gauge*>(Find(std::move(values)));
  }

 private:
  std::shared_ptr<void> MakeSeries() const override { return std::make_shared<Gauge>(); }
  void RenderSeries(const std::string& labels, const void* series,
                    std::string& out) const override;
};

class HistogramFamily final : public FamilyBase {
 public:
  HistogramFamily(std::string name, std::string help, std::vector<std::string> label_names,
                  std::vector<double> bounds);
  Histogram& Labels(std::vector<std::string> values) {
    return *static_cast<Histogram*>(Find(std::move(values)));
  }

 private:
  std::shared_ptr<void> MakeSeries() const override {
    return std::make_shared<Histogram>(&bounds_);
  }
  void RenderSeries(const std::string& labels, const void* series,
                    std::string& out) const override;

  const std::vector<double> bounds_;
};

class Registry {
 public:
  // INVALID_ARGUMENT (naming the metric) for a bad metric or label name, a
  // name registered twice, or (histograms) a label named "le" or bounds that
  // are empty, not finite or not increasing.
  absl::StatusOr<CounterFamily*> AddCounter(std::string name, std::string help,
                                            std::vector<std::string> label_names = {});
  absl::StatusOr<GaugeFamily*> AddGauge(std::string name, std::string help,
                                        std::vector<std::string> label_names = {});
  absl::StatusOr<HistogramFamily*> AddHistogram(std::string name, std::string help,
                                                std::vector<std::string> label_names,
                                                std::vector<double> bounds);

  // Runs before every Render, one render at a time.
  void AddCollector(std::function<void()> collector);

  // The series limit of families registered from now on (default 10,000).
  void set_max_series_per_family(size_t max_series) { max_series_per_family_ = max_series; }

  // Every family in registration order, in the text format 0.0.4.
  std::string Render();

 private:
  absl::Status CheckNew(absl::string_view name, const std::vector<std::string>& label_names)
      ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);

  // Lock order: render_mu_, then mu_ (a collector may update families but
  // never registers one).
  absl::Mutex render_mu_;
  absl::Mutex mu_;
  std::vector<std::unique_ptr<FamilyBase>> families_ ABSL_GUARDED_BY(mu_);
  std::vector<std::function<void()>> collectors_ ABSL_GUARDED_BY(mu_);
  size_t max_series_per_family_ = 10000;
};

}  // namespace pyservice::metrics

#endif  // PYSERVICE_COMMON_METRICS_REGISTRY_H_
