// Enrollment and renewal against a controller served in-process over TLS on
// loopback, whose certificates come from a real CertificateAuthority, with
// real files in a temp dir and a FakeClock.
#include "agent/enroll/agent_identity.h"

#include <sys/stat.h>

#include <filesystem>
#include <fstream>
#include <memory>
#include <sstream>
#include <string>
#include <thread>

#include "absl/time/clock.h"
#include "agent/enroll/certificate_renewer.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "tests/agent/enroll/fake_enrollment_controller.h"
#include "tests/common/tls/test_pki.h"
#include "tests/testing/fake_clock.h"
#include "tests/testing/temp_dir.h"

namespace pyservice::agent {
namespace {

using ::testing::HasSubstr;
using ::testing::Not;

constexpr absl::Duration kValidity = absl::Hours(3);

std::string ReadAll(const std::string& path) {
  std::ifstream in(path);
  std::stringstream text;
  text << in.rdbuf();
  return text.str();
}

mode_t ModeOf(const std::string& path) {
  struct stat info;
  EXPECT_EQ(stat(path.c_str(), &info), 0) << path;
  return info.st_mode & 07777;
}

class AgentIdentityTest : public ::testing::Test {
 protected:
  // Two hours behind the real clock: certificates issued now and after the
  // fake clock has passed two thirds of their lifetime are both valid for
  // the real TLS handshakes (which use the real clock).
  AgentIdentityTest()
      : clock_(absl::FromUnixSeconds(absl::ToUnixSeconds(absl::Now() - absl::Hours(2)))),
        files_(dir_.Join("state")) {}

  void SetUp() override {
    const absl::StatusOr<tls::testing::TestPki>& pki = tls::testing::GetTestPki();
    ASSERT_TRUE(pki.ok()) << pki.status();
    absl::StatusOr<std::unique_ptr<tls::CertificateAuthority>> ca =
        tls::CertificateAuthority::LoadOrCreate(dir_.Join("ca"), "agents", clock_);
    ASSERT_TRUE(ca.ok()) << ca.status();
    ca_ = *std::move(ca);
    controller_ = std::make_unique<testing::FakeEnrollmentController>(*ca_, kValidity);
    ASSERT_TRUE(
        controller_->Start(pki->server_crt(), pki->server_key(), dir_.Join("ca/ca.crt")).ok());
    controller_->AddToken("tok-1", "web-1");
    options_.state_dir = files_.state_dir;
    options_.controller.addresses = {controller_->target()};
    options_.controller.timeout = absl::Seconds(10);
    options_.tls_ca = pki->ca_crt();
    options_.enrollment_token_file = WriteToken("tok-1\n", 0600);
    options_.requested_host = "what-the-agent-thinks";
  }

  std::string WriteToken(const std::string& text, mode_t mode) {
    const std::string path = dir_.Join("enroll.token");
    std::ofstream(path) << text;
    chmod(path.c_str(), mode);
    return path;
  }

  // Another controller over the same CA, answering every call as a
  // follower that names `leader` (none: not elected yet).
  std::unique_ptr<testing::FakeEnrollmentController> Follower(const std::string& leader) {
    const absl::StatusOr<tls::testing::TestPki>& pki = tls::testing::GetTestPki();
    auto follower = std::make_unique<testing::FakeEnrollmentController>(*ca_, kValidity);
    EXPECT_TRUE(
        follower->Start(pki->server_crt(), pki->server_key(), dir_.Join("ca/ca.crt")).ok());
    follower->SetEveryAnswer(grpc::Status(
        grpc::StatusCode::UNAVAILABLE,
        leader.empty() ? std::string("not the leader: this controller is a follower and no "
                                     "leader is elected yet; retry in a few seconds")
                       : absl::StrCat("not the leader: the leader is ", leader)));
    return follower;
  }

  absl::StatusOr<std::unique_ptr<AgentIdentity>> Start() {
    return AgentIdentity::EnsureEnrolled(options_, clock_);
  }

  testing::TempDir dir_;
  testing::FakeClock clock_;
  const IdentityFiles files_;
  std::unique_ptr<tls::CertificateAuthority> ca_;
  std::unique_ptr<testing::FakeEnrollmentController> controller_;
  IdentityOptions options_;
};

TEST_F(AgentIdentityTest, FirstStartEnrollsAndWritesTheFilesOwnerOnly) {
  absl::StatusOr<std::unique_ptr<AgentIdentity>> identity = Start();
  ASSERT_TRUE(identity.ok()) << identity.status();
  EXPECT_EQ((*identity)->host(), "web-1") << "the token's name, not the requested one";
  EXPECT_EQ(controller_->enroll_calls(), 1);
  EXPECT_EQ(controller_->last_token(), "tok-1");
  EXPECT_EQ(ModeOf(files_.dir), 0700u);
  EXPECT_EQ(ModeOf(files_.key), 0600u);
  EXPECT_EQ(ModeOf(files_.cert), 0644u);
  EXPECT_EQ(ReadAll(files_.ca), ca_->certificate_pem());
  EXPECT_FALSE(std::filesystem::exists(files_.staged_key));
  absl::StatusOr<tls::AgentCertificate> on_disk = ca_->VerifyAgentCertificate(ReadAll(files_.cert));
  ASSERT_TRUE(on_disk.ok()) << on_disk.status();
  EXPECT_EQ(on_disk->host, "web-1");
  EXPECT_EQ((*identity)->Certificate().serial, on_disk->serial);
  EXPECT_NE((*identity)->Credentials(), nullptr);
}

TEST_F(AgentIdentityTest, SecondStartUsesTheFilesWithoutEnrolling) {
  ASSERT_TRUE(Start().ok());
  const std::string cert = ReadAll(files_.cert);
  options_.enrollment_token_file = "";  // the operator removed the used token
  absl::StatusOr<std::unique_ptr<AgentIdentity>> again = Start();
  ASSERT_TRUE(again.ok()) << again.status();
  EXPECT_EQ((*again)->host(), "web-1");
  EXPECT_EQ(controller_->enroll_calls(), 1);
  EXPECT_EQ(ReadAll(files_.cert), cert);
}

TEST_F(AgentIdentityTest, RefusesATokenFileOthersCanRead) {
  options_.enrollment_token_file = WriteToken("tok-1\n", 0644);
  absl::StatusOr<std::unique_ptr<AgentIdentity>> identity = Start();
  EXPECT_EQ(identity.status().code(), absl::StatusCode::kFailedPrecondition);
  EXPECT_THAT(std::string(identity.status().message()),
              HasSubstr(options_.enrollment_token_file));
  EXPECT_THAT(std::string(identity.status().message()), Not(HasSubstr("tok-1")));
  EXPECT_EQ(controller_->enroll_calls(), 0);
}

TEST_F(AgentIdentityTest, ShowsTheControllersReasonForRefusing) {
  ASSERT_TRUE(Start().ok());
  options_.state_dir = dir_.Join("another-host");
  absl::StatusOr<std::unique_ptr<AgentIdentity>> identity = Start();
  EXPECT_EQ(identity.status().code(), absl::StatusCode::kUnauthenticated);
  EXPECT_THAT(std::string(identity.status().message()),
              HasSubstr("enrollment token already used"));
  EXPECT_FALSE(std::filesystem::exists(dir_.Join("another-host/tls/host.key")));
}

TEST_F(AgentIdentityTest, WithoutCertificateOrTokenSaysWhatToDo) {
  options_.enrollment_token_file = "";
  absl::StatusOr<std::unique_ptr<AgentIdentity>> identity = Start();
  EXPECT_EQ(identity.status().code(), absl::StatusCode::kFailedPrecondition);
  EXPECT_THAT(std::string(identity.status().message()),
              HasSubstr("no host certificate in " + files_.dir + " and no enrollment_token_file"));
  EXPECT_THAT(std::string(identity.status().message()),
              HasSubstr("pyctl host enroll-token NAME --label K=V"));
  EXPECT_THAT(std::string(identity.status().message()), HasSubstr("--enrollment-token-file"));
}

TEST_F(AgentIdentityTest, AnExpiredCertificateWithoutTokenSaysSo) {
  ASSERT_TRUE(Start().ok());
  options_.enrollment_token_file = "";
  clock_.Advance(kValidity);
  absl::StatusOr<std::unique_ptr<AgentIdentity>> identity = Start();
  EXPECT_EQ(identity.status().code(), absl::StatusCode::kFailedPrecondition);
  EXPECT_THAT(std::string(identity.status().message()), HasSubstr(files_.cert + " expired at"));
}

TEST_F(AgentIdentityTest, RenewsOnceTwoThirdsOfTheLifetimeHavePassed) {
  absl::StatusOr<std::unique_ptr<AgentIdentity>> identity = Start();
  ASSERT_TRUE(identity.ok()) << identity.status();
  const tls::CertificateInfo first = (*identity)->Certificate();
  const std::string first_key = ReadAll(files_.key);
  const std::shared_ptr<grpc::ChannelCredentials> first_credentials = (*identity)->Credentials();
  CertificateRenewer renewer(**identity, absl::Milliseconds(10));
  renewer.Start();

  // The lifetime starts five minutes before issue (clock skew): 3h05m, a
  // third of it left at 1h58m20s after issue.
  clock_.Advance(absl::Hours(1) + absl::Minutes(57));
  absl::SleepFor(absl::Milliseconds(200));
  EXPECT_EQ(controller_->renewals(), 0) << "renewed too early";

  clock_.Advance(absl::Minutes(2));
  for (int i = 0; i < 500 && (*identity)->Certificate().serial == first.serial; ++i) {
    absl::SleepFor(absl::Milliseconds(20));
  }
  renewer.Stop();
  EXPECT_EQ(controller_->renewals(), 1);
  EXPECT_EQ(controller_->last_renewal_caller(), first.serial) << "asked with the old certificate";
  const tls::CertificateInfo renewed = (*identity)->Certificate();
  EXPECT_NE(renewed.serial, first.serial);
  EXPECT_EQ(renewed.common_name, "web-1");
  EXPECT_EQ(renewed.not_after, clock_.Now() + kValidity);
  EXPECT_EQ(tls::ParseCertificate(ReadAll(files_.cert))->serial, renewed.serial);
  EXPECT_NE(ReadAll(files_.key), first_key) << "a fresh key";
  EXPECT_EQ(ModeOf(files_.key), 0600u);
  EXPECT_NE((*identity)->Credentials(), first_credentials);
  EXPECT_FALSE((*identity)->RenewalDue());

  // New connections present the new certificate.
  ASSERT_TRUE((*identity)->Renew().ok());
  EXPECT_EQ(controller_->last_renewal_caller(), renewed.serial);
}

TEST_F(AgentIdentityTest, AFailedRenewalKeepsTheCurrentCertificate) {
  absl::StatusOr<std::unique_ptr<AgentIdentity>> identity = Start();
  ASSERT_TRUE(identity.ok()) << identity.status();
  const std::string cert = ReadAll(files_.cert);
  const std::string key = ReadAll(files_.key);
  controller_->SetRenewalStatus(grpc::Status(grpc::StatusCode::UNAVAILABLE, "try later"));
  const absl::Status renewed = (*identity)->Renew();
  EXPECT_EQ(renewed.code(), absl::StatusCode::kUnavailable);
  EXPECT_THAT(std::string(renewed.message()), HasSubstr("try later"));
  EXPECT_EQ(ReadAll(files_.cert), cert);
  EXPECT_EQ(ReadAll(files_.key), key);
  EXPECT_EQ((*identity)->Certificate().serial, tls::ParseCertificate(cert)->serial);
}

TEST_F(AgentIdentityTest, EnrollmentMovesPastFollowersToTheLeader) {
  std::unique_ptr<testing::FakeEnrollmentController> unelected = Follower("");
  std::unique_ptr<testing::FakeEnrollmentController> follower = Follower(controller_->target());
  std::unique_ptr<testing::FakeEnrollmentController> skipped = Follower("");
  // The follower names the leader, so the address after it is not asked.
  options_.controller.addresses = {unelected->target(), follower->target(), skipped->target(),
                                   controller_->target()};
  absl::StatusOr<std::unique_ptr<AgentIdentity>> identity = Start();
  ASSERT_TRUE(identity.ok()) << identity.status();
  EXPECT_EQ((*identity)->host(), "web-1");
  EXPECT_EQ(unelected->enroll_calls(), 1);
  EXPECT_EQ(follower->enroll_calls(), 1);
  EXPECT_EQ(skipped->enroll_calls(), 0);
  EXPECT_EQ(controller_->enroll_calls(), 1);
}

TEST_F(AgentIdentityTest, EnrollmentWithoutALeaderNamesEveryAddressesAnswer) {
  std::unique_ptr<testing::FakeEnrollmentController> first = Follower("");
  std::unique_ptr<testing::FakeEnrollmentController> second = Follower("");
  options_.controller.addresses = {first->target(), second->target()};
  absl::StatusOr<std::unique_ptr<AgentIdentity>> identity = Start();
  EXPECT_EQ(identity.status().code(), absl::StatusCode::kUnavailable) << identity.status();
  EXPECT_THAT(std::string(identity.status().message()), HasSubstr(first->target()));
  EXPECT_THAT(std::string(identity.status().message()), HasSubstr(second->target()));
}

// A leader's refusal is the answer: the token goes to no other controller.
TEST_F(AgentIdentityTest, EnrollmentRefusedByTheLeaderIsNotTriedElsewhere) {
  std::unique_ptr<testing::FakeEnrollmentController> refusing = Follower("");
  refusing->SetEveryAnswer(
      grpc::Status(grpc::StatusCode::UNAUTHENTICATED, "enrollment token is not valid"));
  options_.controller.addresses = {refusing->target(), controller_->target()};
  absl::StatusOr<std::unique_ptr<AgentIdentity>> identity = Start();
  EXPECT_EQ(identity.status().code(), absl::StatusCode::kUnauthenticated) << identity.status();
  EXPECT_EQ(controller_->enroll_calls(), 0);
}

TEST_F(AgentIdentityTest, RenewalMovesPastAFollowerToTheLeader) {
  absl::StatusOr<std::unique_ptr<AgentIdentity>> identity = Start();
  ASSERT_TRUE(identity.ok()) << identity.status();
  std::unique_ptr<testing::FakeEnrollmentController> follower = Follower(controller_->target());
  // The identity keeps its options: a second one over the same files, with
  // the follower first.
  options_.controller.addresses = {follower->target(), controller_->target()};
  options_.enrollment_token_file = "";
  absl::StatusOr<std::unique_ptr<AgentIdentity>> again = Start();
  ASSERT_TRUE(again.ok()) << again.status();
  ASSERT_TRUE((*again)->Renew().ok());
  EXPECT_EQ(follower->renewal_calls(), 1);
  EXPECT_EQ(controller_->renewals(), 1);
}

TEST_F(AgentIdentityTest, ANewTokenInTheFileEnrollsTheHostAgainAtStart) {
  absl::StatusOr<std::unique_ptr<AgentIdentity>> first = Start();
  ASSERT_TRUE(first.ok()) << first.status();
  const std::string first_serial = (*first)->Certificate().serial;
  // As after `pyctl host revoke web-1` then `pyctl host enroll-token web-1`.
  controller_->AddToken("tok-2", "web-1");
  WriteToken("tok-2\n", 0600);

  absl::StatusOr<std::unique_ptr<AgentIdentity>> again = Start();
  ASSERT_TRUE(again.ok()) << again.status();
  EXPECT_EQ(controller_->enroll_calls(), 2);
  EXPECT_EQ(controller_->last_token(), "tok-2");
  EXPECT_NE((*again)->Certificate().serial, first_serial);
  EXPECT_EQ(tls::ParseCertificate(ReadAll(files_.cert))->serial, (*again)->Certificate().serial);
  EXPECT_FALSE((*again)->NewEnrollmentTokenWaiting()) << "used: not new any more";

  // The token, used, stays in its file: later starts keep the certificate.
  ASSERT_TRUE(Start().ok());
  EXPECT_EQ(controller_->enroll_calls(), 2);
}

TEST_F(AgentIdentityTest, ARunningAgentEnrollsAgainWhenANewTokenIsWritten) {
  absl::StatusOr<std::unique_ptr<AgentIdentity>> identity = Start();
  ASSERT_TRUE(identity.ok()) << identity.status();
  const std::string first_serial = (*identity)->Certificate().serial;
  const std::shared_ptr<grpc::ChannelCredentials> first_credentials = (*identity)->Credentials();
  CertificateRenewer renewer(**identity, absl::Milliseconds(10));
  renewer.Start();
  controller_->AddToken("tok-2", "web-1");
  WriteToken("tok-2\n", 0600);
  for (int i = 0; i < 500 && (*identity)->Certificate().serial == first_serial; ++i) {
    absl::SleepFor(absl::Milliseconds(20));
  }
  renewer.Stop();
  EXPECT_EQ(controller_->enroll_calls(), 2);
  EXPECT_NE((*identity)->Certificate().serial, first_serial);
  EXPECT_NE((*identity)->Credentials(), first_credentials);
  EXPECT_EQ(controller_->renewals(), 0) << "an enrollment, not a renewal";
}

TEST_F(AgentIdentityTest, ARefusedNewTokenKeepsTheCertificateAndIsNotTriedAgain) {
  absl::StatusOr<std::unique_ptr<AgentIdentity>> first = Start();
  ASSERT_TRUE(first.ok()) << first.status();
  const std::string cert = ReadAll(files_.cert);
  WriteToken("tok-unknown\n", 0600);

  absl::StatusOr<std::unique_ptr<AgentIdentity>> again = Start();
  ASSERT_TRUE(again.ok()) << again.status() << " (a valid certificate is still usable)";
  EXPECT_EQ(controller_->enroll_calls(), 2);
  EXPECT_EQ(ReadAll(files_.cert), cert);
  EXPECT_FALSE((*again)->NewEnrollmentTokenWaiting()) << "refused once: not every minute";
}

TEST_F(AgentIdentityTest, ARunningAgentDoesNotTakeANewName) {
  absl::StatusOr<std::unique_ptr<AgentIdentity>> identity = Start();
  ASSERT_TRUE(identity.ok()) << identity.status();
  const std::string cert = ReadAll(files_.cert);
  controller_->AddToken("tok-2", "web-2");
  WriteToken("tok-2\n", 0600);
  ASSERT_TRUE((*identity)->NewEnrollmentTokenWaiting());
  const absl::Status enrolled = (*identity)->Reenroll();
  EXPECT_EQ(enrolled.code(), absl::StatusCode::kFailedPrecondition);
  EXPECT_THAT(std::string(enrolled.message()),
              HasSubstr("the enrollment token is for host web-2 but this agent runs as web-1"));
  EXPECT_EQ(ReadAll(files_.cert), cert);
  EXPECT_EQ((*identity)->host(), "web-1");
}

}  // namespace
}  // namespace pyservice::agent
