#include "agent/units/unit_renderer.h"

#include "common/spec/app_spec_parser.h"
#include "common/spec/template.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"

namespace pyservice::agent {
namespace {

using ::testing::HasSubstr;
using ::testing::Not;

v1::AppSpec Expanded(const std::string& extra) {
  absl::StatusOr<v1::AppSpec> spec = spec::ParseAppSpec(
      "name: hello\nrepo: file:///r.git\ntag: v1\n" + extra, "app.yaml");
  EXPECT_TRUE(spec.ok()) << spec.status();
  absl::StatusOr<v1::AppSpec> expanded = spec::ExpandSpec(*spec);
  EXPECT_TRUE(expanded.ok()) << expanded.status();
  return *expanded;
}

TEST(UnitRenderer, ServiceIsTheRolesUnitInVenvMode) {
  const std::vector<UnitFile> units = RenderUnits(
      Expanded("services:\n  - name: web\n    description: \"Web for {{ app_name }}\"\n"
               "    command: \"python -m hello --config {{ app_config }} web\"\n"),
      EnvironmentBackend::kVenv);
  ASSERT_EQ(units.size(), 1u);
  EXPECT_EQ(units[0].name, "hello-web.service");
  EXPECT_TRUE(units[0].activate);
  EXPECT_EQ(units[0].content,
            "# Written by pyservice-agent; edits are reverted on the next deploy.\n"
            "[Unit]\n"
            "Description=Web for hello\n"
            "After=network.target\n"
            "\n"
            "[Service]\n"
            "Type=simple\n"
            "User=hello\n"
            "Group=hello\n"
            "WorkingDirectory=/applications/hello/app/code\n"
            "Environment=VIRTUAL_ENV=/applications/hello/app/code/.venv\n"
            "Environment=PATH=/applications/hello/app/code/.venv/bin:/usr/local/bin:/usr/bin:/bin\n"
            "ExecStart=/usr/bin/env python -m hello --config "
            "/applications/hello/app/config/config.yaml web\n"
            "Restart=always\n"
            "\n"
            "[Install]\n"
            "WantedBy=multi-user.target\n");
}

TEST(UnitRenderer, UvModeRunsThroughTheRolesUvRun) {
  const std::vector<UnitFile> units =
      RenderUnits(Expanded("services:\n  - name: web\n    command: python -m hello web\n"),
                  EnvironmentBackend::kUv);
  EXPECT_THAT(units[0].content,
              HasSubstr("ExecStart=/usr/bin/env UV_PROJECT_ENVIRONMENT=/applications/hello/app/code/.venv "
                        "UV_PYTHON_INSTALL_DIR=/applications/hello/app/uv/python "
                        "UV_CACHE_DIR=/applications/hello/app/uv/cache /applications/uv run --frozen "
                        "--directory /applications/hello/app/code python -m hello web\n"));
  EXPECT_THAT(units[0].content, Not(HasSubstr("VIRTUAL_ENV")));
}

TEST(UnitRenderer, TimerIsAOneshotJobAndATimer) {
  const std::vector<UnitFile> units = RenderUnits(
      Expanded("timers:\n  - name: report\n    description: Weekly report\n"
               "    schedule: \"Mon, 02:00\"\n    command: python -m hello report\n"),
      EnvironmentBackend::kVenv);
  ASSERT_EQ(units.size(), 2u);
  EXPECT_EQ(units[0].name, "hello-report.service");
  EXPECT_FALSE(units[0].activate) << "its timer starts it";
  EXPECT_THAT(units[0].content, HasSubstr("Type=oneshot\n"));
  EXPECT_THAT(units[0].content, Not(HasSubstr("[Install]")));
  EXPECT_THAT(units[0].content, Not(HasSubstr("Restart=")));
  EXPECT_EQ(units[1].name, "hello-report.timer");
  EXPECT_TRUE(units[1].activate);
  EXPECT_EQ(units[1].content,
            "# Written by pyservice-agent; edits are reverted on the next deploy.\n"
            "[Unit]\nDescription=Weekly report\n\n"
            "[Timer]\nOnCalendar=Mon, 02:00\nPersistent=true\nUnit=hello-report.service\n\n"
            "[Install]\nWantedBy=timers.target\n");
}

TEST(UnitRenderer, PercentSignsAreEscapedForSystemd) {
  const std::vector<UnitFile> units = RenderUnits(
      Expanded("services:\n  - name: web\n    description: \"100% web\"\n"
               "    command: \"date +%Y-%m-%d\"\n"),
      EnvironmentBackend::kVenv);
  EXPECT_THAT(units[0].content, HasSubstr("Description=100%% web\n"));
  EXPECT_THAT(units[0].content, HasSubstr("ExecStart=/usr/bin/env date +%%Y-%%m-%%d\n"));
}

TEST(UnitRenderer, DefaultDescriptionNamesAppAndUnit) {
  const std::vector<UnitFile> units =
      RenderUnits(Expanded("services:\n  - name: worker\n    command: x\n"), EnvironmentBackend::kVenv);
  EXPECT_THAT(units[0].content, HasSubstr("Description=hello worker\n"));
}

TEST(UnitRenderer, UserAndGroupAreTheApps) {
  const std::vector<UnitFile> units = RenderUnits(
      Expanded("user: svc\ngroup: www\nservices:\n  - name: web\n    command: x\n"), EnvironmentBackend::kVenv);
  EXPECT_THAT(units[0].content, HasSubstr("User=svc\nGroup=www\n"));
}

}  // namespace
}  // namespace pyservice::agent
