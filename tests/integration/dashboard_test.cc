// The web dashboard against a real controller (fleet_fixture.h: the real
// store, fleet, rollout driver and gRPC services, fake agents speaking the
// agent protocol) on a real HTTP listener: its headers and refusals over
// raw HTTP, and the page itself in headless Chromium, which must show the
// fleet and follow its changes without a reload.
#include <memory>
#include <string>

#include "absl/strings/str_cat.h"
#include "common/http/http_server.h"
#include "controller/dashboard/dashboard_routes.h"
#include "tests/integration/fleet_fixture.h"
#include "tests/testing/headless_chromium.h"
#include "tests/testing/http_client.h"

namespace pyservice {
namespace {

using ::pyservice::testing::HeadlessChromium;
using ::pyservice::testing::HttpAnswer;
using ::pyservice::testing::HttpConnection;
using ::pyservice::testing::HttpExchange;
using ::pyservice::testing::HttpGet;

constexpr char kApp[] = "hello";
// What a hostile host reports as its failure: markup that runs script if
// the page ever parses data as HTML.
constexpr char kHostileMessage[] =
    "<img src=x onerror=\"window.__xssRan=true\"><b>unit failed</b>";

class DashboardTest : public FleetTest {
 protected:
  void SetUp() override {
    FleetTest::SetUp();
    http::Routes routes;
    controller::dashboard::AddDashboardRoutes(routes, *store_, *fleet_);
    http::HttpServerOptions options;
    options.listen = "127.0.0.1:0";
    options.worker_threads = 6;
    options.max_streams = 3;
    absl::StatusOr<std::unique_ptr<http::HttpServer>> http =
        http::HttpServer::Start(options, std::move(routes));
    ASSERT_TRUE(http.ok()) << http.status();
    http_ = *std::move(http);
  }

  void TearDown() override {
    browser_.reset();
    if (http_) http_->Stop();
    FleetTest::TearDown();
  }

  // h1 runs the app (revision 1, v1) healthy; h2's deploy of v1 failed with
  // kHostileMessage.
  void TwoHostsOneFailed() {
    FakeAgent& h1 = Agent("h1");
    FakeAgent& h2 = Agent("h2");
    h2.FailTag(kApp, "v1", "verify", kHostileMessage);
    ASSERT_EQ(Apply(AppYaml(kApp, "v1")), 1u);
    ASSERT_TRUE(h1.WaitForRevision(kApp, 1).ok());
    ASSERT_TRUE(Eventually([&] {
      const v1::AppStatus status = Status(kApp);
      for (const v1::HostAppStatus& host : status.hosts()) {
        if (host.host() == "h2" && host.state() == v1::HOST_DEPLOY_STATE_FAILED) return true;
      }
      return false;
    }));
  }

  std::string Url(const std::string& path) const {
    return absl::StrCat("http://127.0.0.1:", http_->port(), path);
  }

  // Null (with the reason as a failure) when Chromium cannot start: no
  // skip, a machine without Chromium fails the test, saying so.
  HeadlessChromium* Browser() {
    absl::StatusOr<std::unique_ptr<HeadlessChromium>> browser =
        HeadlessChromium::Start(dir_.path());
    if (!browser.ok()) {
      ADD_FAILURE() << browser.status();
      return nullptr;
    }
    browser_ = *std::move(browser);
    return browser_.get();
  }

  // Waits for `expression` to hold in the page, failing with the page's
  // text when it does not.
  void ExpectPage(const std::string& expression) {
    const absl::Status status = browser_->WaitUntil(expression);
    if (status.ok()) return;
    absl::StatusOr<testing::JsonValue> text = browser_->Evaluate("document.body.innerText");
    ADD_FAILURE() << status << "\npage text:\n"
                  << (text.ok() ? text->string_value() : text.status().ToString());
  }

  std::unique_ptr<http::HttpServer> http_;
  std::unique_ptr<HeadlessChromium> browser_;
};

TEST_F(DashboardTest, PageAndApiCarryCspAndNosniffAndNoCorsHeader) {
  for (const char* path : {"/", "/dashboard.js", "/dashboard.css", "/api/fleet"}) {
    absl::StatusOr<HttpAnswer> answer = HttpGet(http_->port(), path);
    ASSERT_TRUE(answer.ok()) << answer.status();
    EXPECT_EQ(answer->status, 200) << path;
    EXPECT_THAT(answer->headers["content-security-policy"], HasSubstr("script-src 'self'"))
        << path;
    EXPECT_THAT(answer->headers["content-security-policy"], Not(HasSubstr("unsafe-inline")))
        << path;
    EXPECT_EQ(answer->headers["x-content-type-options"], "nosniff") << path;
    EXPECT_FALSE(answer->headers.contains("access-control-allow-origin")) << path;
  }
  absl::StatusOr<HttpAnswer> page = HttpGet(http_->port(), "/");
  ASSERT_TRUE(page.ok()) << page.status();
  EXPECT_THAT(page->headers["content-type"], StartsWith("text/html"));
  // The script is its own file: no inline script for the CSP to allow.
  EXPECT_THAT(page->body, HasSubstr("<script src=\"/dashboard.js\"></script>"));
  EXPECT_THAT(page->body, Not(HasSubstr("<script>")));
}

TEST_F(DashboardTest, OnlyGetAndHeadAreServed) {
  absl::StatusOr<HttpAnswer> answer = HttpExchange(
      http_->port(), "POST /api/fleet HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Length: 0\r\n\r\n");
  ASSERT_TRUE(answer.ok()) << answer.status();
  EXPECT_EQ(answer->status, 405);
}

TEST_F(DashboardTest, ARebindingHostNameIsRefusedAndLearnsNothing) {
  Agent("secret-host-name");
  for (const char* path : {"/", "/api/fleet"}) {
    absl::StatusOr<HttpAnswer> answer = HttpExchange(
        http_->port(), absl::StrCat("GET ", path, " HTTP/1.1\r\nHost: evil.example:80\r\n\r\n"));
    ASSERT_TRUE(answer.ok()) << answer.status();
    EXPECT_EQ(answer->status, 403) << path;
    EXPECT_THAT(answer->body, Not(HasSubstr("secret-host-name"))) << path;
  }
  absl::StatusOr<HttpAnswer> events = HttpExchange(
      http_->port(), "GET /api/events HTTP/1.1\r\nHost: evil.example\r\n\r\n");
  ASSERT_TRUE(events.ok()) << events.status();
  EXPECT_EQ(events->body, "") << "the stream ends without an event";
}

TEST_F(DashboardTest, ApiFleetListsHostsAppsAndTheirStates) {
  TwoHostsOneFailed();
  absl::StatusOr<HttpAnswer> answer = HttpGet(http_->port(), "/api/fleet");
  ASSERT_TRUE(answer.ok()) << answer.status();
  EXPECT_EQ(answer->headers["content-type"], "application/json");
  absl::StatusOr<JsonValue> fleet = ParseJson(answer->body);
  ASSERT_TRUE(fleet.ok()) << fleet.status();
  const auto& hosts = Fields(*fleet).at("hosts").list_value().values();
  ASSERT_EQ(hosts.size(), 2);
  EXPECT_EQ(Fields(hosts[0]).at("name").string_value(), "h1");
  EXPECT_EQ(Fields(hosts[0]).at("agent_version").string_value(), "fake-1.0");
  const auto& apps = Fields(*fleet).at("apps").list_value().values();
  ASSERT_EQ(apps.size(), 1);
  const auto& cells = Fields(apps[0]).at("hosts").list_value().values();
  ASSERT_EQ(cells.size(), 2);
  EXPECT_EQ(Fields(cells[0]).at("state").string_value(), "HOST_DEPLOY_STATE_HEALTHY");
  EXPECT_EQ(Fields(cells[1]).at("state").string_value(), "HOST_DEPLOY_STATE_FAILED");
  EXPECT_EQ(Fields(cells[1]).at("message").string_value(), kHostileMessage);
}

TEST_F(DashboardTest, EventStreamSendsTheFleetAtOnceThenAfterAChange) {
  Agent("h1");
  absl::StatusOr<HttpConnection> connection = HttpConnection::Open(http_->port());
  ASSERT_TRUE(connection.ok()) << connection.status();
  ASSERT_TRUE(connection->Send("GET /api/events HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n"));
  ASSERT_TRUE(connection->ReadUntil("\"name\":\"h1\"")) << connection->received();
  EXPECT_THAT(connection->received(), HasSubstr("text/event-stream"));
  EXPECT_THAT(connection->received(), HasSubstr("event: snapshot\ndata: {"));
  Agent("h2");
  ASSERT_TRUE(connection->ReadUntil("\"name\":\"h2\"")) << connection->received();
}

// The page in a real browser: hosts, the health matrix with a hostile
// message shown as text, then a new host and a rollout appearing without
// a reload (a marker set on the first load must survive).
TEST_F(DashboardTest, BrowserShowsTheFleetAndFollowsItWithoutReload_HostileMessageIsText) {
  TwoHostsOneFailed();
  HeadlessChromium* const chromium = Browser();
  ASSERT_NE(chromium, nullptr);
  HeadlessChromium& browser = *chromium;
  const absl::Status opened = browser.Open(Url("/"));
  ASSERT_TRUE(opened.ok()) << opened;

  ExpectPage("document.querySelector('#live').dataset.state === 'live'");
  ExpectPage("document.querySelectorAll('#hosts tbody tr').length === 2");
  ExpectPage("document.querySelector('#hosts tr[data-host=\"h1\"] .connected')"
             ".textContent === 'yes'");
  ExpectPage("document.querySelector('#hosts tr[data-host=\"h1\"] .agent-version')"
             ".textContent === 'fake-1.0'");
  ExpectPage("document.querySelector('#matrix td[data-app=\"hello\"][data-host=\"h1\"]')"
             ".dataset.state === 'healthy'");
  ExpectPage("document.querySelector('#matrix td[data-app=\"hello\"][data-host=\"h1\"]')"
             ".textContent.includes('r1 v1')");
  ExpectPage("document.querySelector('#matrix td[data-app=\"hello\"][data-host=\"h2\"]')"
             ".dataset.state === 'failed'");

  // The hostile message is the cell's text, character for character, and
  // never became elements: no <img>, no <b>, its handler never ran.
  // (It has no single quote, so it can sit in a '...' literal as it is.)
  ExpectPage(absl::StrCat(
      "document.querySelector('#matrix td[data-host=\"h2\"] .message').textContent === '",
      kHostileMessage, "'"));
  absl::StatusOr<JsonValue> injected = browser.Evaluate(
      "document.querySelectorAll('img, b').length + (window.__xssRan === true ? 100 : 0)");
  ASSERT_TRUE(injected.ok()) << injected.status();
  EXPECT_EQ(injected->number_value(), 0) << "markup from a host became elements";

  // Changes arrive on the open page.
  ASSERT_TRUE(browser.Evaluate("window.__sameDocument = true").ok());
  FakeAgent& h3 = Agent("h3");
  ExpectPage("document.querySelectorAll('#hosts tbody tr').length === 3");
  ExpectPage("!!document.querySelector('#matrix th') && "
             "[...document.querySelectorAll('#matrix thead th')].some("
             "th => th.textContent === 'h3')");
  ASSERT_TRUE(h3.WaitForRevision(kApp, 1).ok());
  ExpectPage("document.querySelector('#matrix td[data-app=\"hello\"][data-host=\"h3\"]')"
             ".dataset.state === 'healthy'");

  // A rollout starts: its canary wave shows a host deploying, then healthy.
  for (const auto& agent : agents_) agent->HoldDeploys();
  v1::StartRolloutRequest request;
  request.set_app(kApp);
  request.set_tag("v2");
  request.mutable_canary()->set_percent(30);
  request.set_auto_promote(false);
  v1::Rollout rollout;
  grpc::ClientContext context;
  const grpc::Status started = stub_->StartRollout(&context, request, &rollout);
  ASSERT_TRUE(started.ok()) << started.error_message();
  ExpectPage(absl::StrCat("!!document.querySelector('#rollouts [data-rollout=\"", rollout.id(),
                          "\"] [data-wave=\"0\"] li[data-state=\"deploying\"]')"));
  ExpectPage("document.querySelector('#rollouts [data-rollout]').textContent"
             ".includes('canary')");
  for (const auto& agent : agents_) agent->ReleaseDeploys();
  ExpectPage("document.querySelector('#rollouts [data-rollout]').dataset.state"
             " === 'awaiting_promotion'");
  ExpectPage("!!document.querySelector('#rollouts [data-wave=\"0\"] li[data-state=\"healthy\"]')");
  ExpectPage("[...document.querySelectorAll('#matrix td[data-app=\"hello\"]')].some("
             "td => td.textContent.includes('r2 v2') && td.dataset.state === 'healthy')");

  absl::StatusOr<JsonValue> same = browser.Evaluate("window.__sameDocument === true");
  ASSERT_TRUE(same.ok()) << same.status();
  EXPECT_TRUE(same->bool_value()) << "the page reloaded";
}

}  // namespace
}  // namespace pyservice
