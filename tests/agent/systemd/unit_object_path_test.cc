// systemd's object path of a unit, as sd_bus_path_encode writes it (the
// watch's bus matches use it; tests/e2e/unit_watch_test.cc checks them
// against a real systemd).
#include "agent/systemd/dbus_systemd_manager.h"
#include "gtest/gtest.h"

namespace pyservice::agent {
namespace {

TEST(UnitObjectPathTest, EscapesEverythingButLettersAndDigits) {
  EXPECT_EQ(DbusSystemdManager::UnitObjectPath("hello-web.service"),
            "/org/freedesktop/systemd1/unit/hello_2dweb_2eservice");
  EXPECT_EQ(DbusSystemdManager::UnitObjectPath("dbus.service"),
            "/org/freedesktop/systemd1/unit/dbus_2eservice");
  EXPECT_EQ(DbusSystemdManager::UnitObjectPath("a_b@x.timer"),
            "/org/freedesktop/systemd1/unit/a_5fb_40x_2etimer");
}

TEST(UnitObjectPathTest, ALeadingDigitIsEscapedToo) {
  EXPECT_EQ(DbusSystemdManager::UnitObjectPath("1app.service"),
            "/org/freedesktop/systemd1/unit/_31app_2eservice");
  EXPECT_EQ(DbusSystemdManager::UnitObjectPath(""), "/org/freedesktop/systemd1/unit/_");
}

}  // namespace
}  // namespace pyservice::agent
