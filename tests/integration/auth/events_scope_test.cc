// WatchEvents for a caller limited to some apps, over real TLS: it sees the
// events of its apps and the host events, never another app's; a filter
// that reaches past its scope is refused.
#include <string>
#include <vector>

#include <grpcpp/client_context.h>

#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "tests/integration/auth/auth_fixture.h"

namespace pyservice::testing {
namespace {

using ::testing::ElementsAre;
using ::testing::HasSubstr;

class EventsScopeTest : public AuthFixture {
 protected:
  void SetUp() override {
    AuthFixture::SetUp();
    for (const char* app : {"hello", "other-api"}) {
      v1::FleetEvent applied;
      applied.set_kind(v1::FLEET_EVENT_KIND_APP_APPLIED);
      applied.set_app(app);
      fleet_->history().Record(applied);
    }
    v1::FleetEvent connected;
    connected.set_kind(v1::FLEET_EVENT_KIND_HOST_CONNECTED);
    connected.set_host("web-1");
    fleet_->history().Record(connected);
  }

  // What the caller gets: "APP|HOST" per event, and how the call ended.
  grpc::Status Watch(const Caller& caller, const std::vector<std::string>& apps,
                     std::vector<std::string>* seen) {
    grpc::ClientContext context;
    Prepare(caller, context);
    v1::WatchEventsRequest request;
    for (const std::string& app : apps) request.add_apps(app);
    auto reader = v1::ControllerService::NewStub(Channel(caller))->WatchEvents(&context, request);
    v1::FleetEvent event;
    while (reader->Read(&event)) seen->push_back(event.app() + "|" + event.host());
    return reader->Finish();
  }
};

TEST_F(EventsScopeTest, AScopedViewerSeesItsAppsAndHostEventsOnly) {
  const Caller scoped = Operator("scoped-viewer", v1::ROLE_VIEWER, {"other-*"});
  std::vector<std::string> seen;
  const grpc::Status status = Watch(scoped, {}, &seen);
  ASSERT_TRUE(status.ok()) << status.error_message();
  EXPECT_THAT(seen, ElementsAre("other-api|", "|web-1"));
}

TEST_F(EventsScopeTest, AnUnscopedViewerSeesEveryEventAndMayFilter) {
  const Caller viewer = Operator("viewer", v1::ROLE_VIEWER);
  std::vector<std::string> all;
  ASSERT_TRUE(Watch(viewer, {}, &all).ok());
  EXPECT_THAT(all, ElementsAre("hello|", "other-api|", "|web-1"));
  std::vector<std::string> hello;
  ASSERT_TRUE(Watch(viewer, {"hello"}, &hello).ok());
  EXPECT_THAT(hello, ElementsAre("hello|", "|web-1"));
}

TEST_F(EventsScopeTest, AScopedViewersFilterBeyondItsScopeIsRefused) {
  const Caller scoped = Operator("scoped-viewer", v1::ROLE_VIEWER, {"other-*"});
  for (const std::string filter : {"hello", "*", "o*"}) {
    std::vector<std::string> seen;
    const grpc::Status status = Watch(scoped, {filter}, &seen);
    EXPECT_EQ(status.error_code(), grpc::StatusCode::PERMISSION_DENIED) << filter;
    EXPECT_THAT(status.error_message(), HasSubstr(filter)) << filter;
    EXPECT_TRUE(seen.empty()) << filter;
  }
  // Its own pattern, or one app within it, is fine.
  std::vector<std::string> own;
  ASSERT_TRUE(Watch(scoped, {"other-api"}, &own).ok());
  EXPECT_THAT(own, ElementsAre("other-api|", "|web-1"));
}

}  // namespace
}  // namespace pyservice::testing
