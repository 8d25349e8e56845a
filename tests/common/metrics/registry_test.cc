#include "common/metrics/registry.h"

#include <string>

#include "absl/strings/match.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"

namespace pyservice::metrics {
namespace {

using ::testing::HasSubstr;
using ::testing::Not;

TEST(RegistryTest, RendersCountersWithHelpTypeAndSortedLabelledSeries) {
  Registry registry;
  absl::StatusOr<CounterFamily*> deploys =
      registry.AddCounter("deploys_total", "Deploys by result.", {"app", "result"});
  ASSERT_TRUE(deploys.ok()) << deploys.status();
  (*deploys)->Labels({"web", "succeeded"}).Inc();
  (*deploys)->Labels({"web", "succeeded"}).Inc(2);
  (*deploys)->Labels({"api", "failed"}).Inc();
  (*deploys)->Labels({"api", "failed"}).Inc(-5);  // ignored: counters only go up
  EXPECT_EQ(registry.Render(),
            "# HELP deploys_total Deploys by result.\n"
            "# TYPE deploys_total counter\n"
            "deploys_total{app=\"api\",result=\"failed\"} 1\n"
            "deploys_total{app=\"web\",result=\"succeeded\"} 3\n");
}

TEST(RegistryTest, EscapesLabelValuesAndHelp) {
  Registry registry;
  absl::StatusOr<GaugeFamily*> gauge = registry.AddGauge("g", "line one\nline \\two", {"v"});
  ASSERT_TRUE(gauge.ok());
  (*gauge)->Labels({"say \"x\"\n"}).Set(1.5);
  EXPECT_EQ(registry.Render(),
            "# HELP g line one\\nline \\\\two\n"
            "# TYPE g gauge\n"
            "g{v=\"say \\\"x\\\"\\n\"} 1.5\n");
}

TEST(RegistryTest, HistogramRendersCumulativeBucketsSumAndCount) {
  Registry registry;
  absl::StatusOr<HistogramFamily*> steps =
      registry.AddHistogram("step_seconds", "Step durations.", {"step"}, {0.5, 1, 5});
  ASSERT_TRUE(steps.ok()) << steps.status();
  Histogram& checkout = (*steps)->Labels({"checkout"});
  checkout.Observe(0.5);  // le is inclusive
  checkout.Observe(2);
  checkout.Observe(10);
  EXPECT_EQ(registry.Render(),
            "# HELP step_seconds Step durations.\n"
            "# TYPE step_seconds histogram\n"
            "step_seconds_bucket{step=\"checkout\",le=\"0.5\"} 1\n"
            "step_seconds_bucket{step=\"checkout\",le=\"1\"} 1\n"
            "step_seconds_bucket{step=\"checkout\",le=\"5\"} 2\n"
            "step_seconds_bucket{step=\"checkout\",le=\"+Inf\"} 3\n"
            "step_seconds_sum{step=\"checkout\"} 12.5\n"
            "step_seconds_count{step=\"checkout\"} 3\n");
}

TEST(RegistryTest, UnlabelledFamilyRendersBareNames) {
  Registry registry;
  absl::StatusOr<HistogramFamily*> h = registry.AddHistogram("h", "H.", {}, {1});
  ASSERT_TRUE(h.ok());
  (*h)->Labels({}).Observe(0);
  EXPECT_THAT(registry.Render(), HasSubstr("h_bucket{le=\"1\"} 1\nh_bucket{le=\"+Inf\"} 1\n"
                                           "h_sum 0\nh_count 1\n"));
}

TEST(RegistryTest, CollectorRunsBeforeEachRenderAndClearDropsGoneSeries) {
  Registry registry;
  absl::StatusOr<GaugeFamily*> apps = registry.AddGauge("apps", "Apps.", {"app"});
  ASSERT_TRUE(apps.ok());
  std::vector<std::string> current = {"a", "b"};
  registry.AddCollector([&] {
    (*apps)->Clear();
    for (const std::string& app : current) (*apps)->Labels({app}).Set(1);
  });
  EXPECT_THAT(registry.Render(), HasSubstr("apps{app=\"b\"} 1\n"));
  current = {"a"};
  EXPECT_THAT(registry.Render(), Not(HasSubstr("app=\"b\"")));
}

TEST(RegistryTest, WrongNumberOfLabelValuesStillCountsUnderPaddedLabels) {
  Registry registry;
  absl::StatusOr<CounterFamily*> c = registry.AddCounter("c_total", "C.", {"a", "b"});
  ASSERT_TRUE(c.ok());
  (*c)->Labels({"x"}).Inc();
  EXPECT_THAT(registry.Render(), HasSubstr("c_total{a=\"x\",b=\"\"} 1\n"));
}

TEST(RegistryTest, LabelSetsBeyondTheFamilyLimitAreNotRendered) {
  Registry registry;
  registry.set_max_series_per_family(2);
  absl::StatusOr<CounterFamily*> steps = registry.AddCounter("steps_total", "S.", {"step"});
  ASSERT_TRUE(steps.ok());
  (*steps)->Labels({"a"}).Inc();
  (*steps)->Labels({"b"}).Inc();
  (*steps)->Labels({"invented-1"}).Inc();
  (*steps)->Labels({"invented-2"}).Inc();
  (*steps)->Labels({"a"}).Inc();  // an existing series still counts
  const std::string text = registry.Render();
  EXPECT_THAT(text, HasSubstr("steps_total{step=\"a\"} 2\n"));
  EXPECT_THAT(text, HasSubstr("steps_total{step=\"b\"} 1\n"));
  EXPECT_THAT(text, Not(HasSubstr("invented")));
}

TEST(RegistryTest, RefusesBadNamesDuplicatesAndBadBuckets) {
  Registry registry;
  ASSERT_TRUE(registry.AddCounter("ok_total", "x").ok());
  EXPECT_TRUE(absl::IsInvalidArgument(registry.AddCounter("ok_total", "x").status()));
  EXPECT_TRUE(absl::IsInvalidArgument(registry.AddGauge("bad-name", "x").status()));
  EXPECT_TRUE(absl::IsInvalidArgument(registry.AddGauge("g", "x", {"__x"}).status()));
  EXPECT_TRUE(absl::IsInvalidArgument(registry.AddHistogram("h1", "x", {"le"}, {1}).status()));
  EXPECT_TRUE(absl::IsInvalidArgument(registry.AddHistogram("h2", "x", {}, {}).status()));
  EXPECT_TRUE(absl::IsInvalidArgument(registry.AddHistogram("h3", "x", {}, {2, 1}).status()));
  absl::StatusOr<GaugeFamily*> named = registry.AddGauge("bad-name", "x");
  EXPECT_THAT(named.status().message(), HasSubstr("bad-name"));
}

}  // namespace
}  // namespace pyservice::metrics
