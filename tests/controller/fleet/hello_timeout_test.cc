// A stream that never says Hello is ended once hello_timeout has passed on
// the (fake) clock; one that does say Hello in time is left alone.
#include <memory>

#include "controller/fleet/fleet.h"
#include "controller/store/aes_gcm_spec_sealer.h"
#include "controller/store/sqlite_store.h"
#include "gtest/gtest.h"
#include "tests/testing/fake_agent_connection.h"
#include "tests/testing/fake_clock.h"
#include "tests/testing/temp_dir.h"
#include "tests/testing/test_secret_keys.h"

namespace pyservice::controller::fleet {
namespace {

class HelloTimeoutTest : public ::testing::Test {
 protected:
  void SetUp() override {
    absl::StatusOr<std::unique_ptr<SqliteStore>> store = SqliteStore::Open(dir_.Join("data"), clock_, sealer_);
    ASSERT_TRUE(store.ok()) << store.status();
    store_ = *std::move(store);
    FleetOptions options;
    options.hello_timeout = absl::Seconds(10);
    options.sweep_period = absl::Hours(1);  // the test sweeps by hand
    absl::StatusOr<std::unique_ptr<Fleet>> fleet = Fleet::Create(*store_, clock_, options);
    ASSERT_TRUE(fleet.ok()) << fleet.status();
    fleet_ = *std::move(fleet);
  }
  void TearDown() override {
    if (fleet_) fleet_->Shutdown();
  }

  testing::TempDir dir_;
  testing::FakeClock clock_;
  const SecretKeys keys_ = testing::TestSecretKeys();
  const AesGcmSpecSealer sealer_{keys_, "test.key"};
  std::unique_ptr<SqliteStore> store_;
  std::unique_ptr<Fleet> fleet_;
};

TEST_F(HelloTimeoutTest, SilentStreamIsEndedWithDeadlineExceeded) {
  auto silent = std::make_shared<testing::FakeAgentConnection>();
  fleet_->OnSessionStarted(1, silent);
  clock_.Advance(absl::Seconds(9));
  fleet_->SweepNow();
  EXPECT_FALSE(silent->closed().has_value()) << "not yet";
  clock_.Advance(absl::Seconds(1));
  fleet_->SweepNow();
  ASSERT_TRUE(silent->closed().has_value());
  EXPECT_EQ(silent->closed()->error_code(), grpc::StatusCode::DEADLINE_EXCEEDED);
  EXPECT_EQ(silent->closed()->error_message(), "no Hello within 10s");
}

TEST_F(HelloTimeoutTest, StreamThatSaidHelloIsKept) {
  auto agent = std::make_shared<testing::FakeAgentConnection>();
  fleet_->OnSessionStarted(2, agent);
  v1::Hello hello;
  hello.set_host("web-1");
  ASSERT_TRUE(fleet_->OnHello(2, hello, agent).ok());
  clock_.Advance(absl::Minutes(1));
  fleet_->SweepNow();
  EXPECT_FALSE(agent->closed().has_value());
}

TEST_F(HelloTimeoutTest, AbandonedStreamIsForgotten) {
  auto gone = std::make_shared<testing::FakeAgentConnection>();
  fleet_->OnSessionStarted(3, gone);
  fleet_->OnSessionAbandoned(3);
  clock_.Advance(absl::Minutes(1));
  fleet_->SweepNow();
  EXPECT_FALSE(gone->closed().has_value()) << "nothing left to close";
}

}  // namespace
}  // namespace pyservice::controller::fleet
