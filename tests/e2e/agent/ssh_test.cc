// pyservice-agent cloning over ssh with a deploy key, from a real sshd
// (Debian's openssh-server) running in the test host on 127.0.0.1:2222 for
// a `git` user whose home holds the bare repo; and the secrets of an app
// (the deploy key, a `files:` entry) never showing up in the journal or on
// any process's command line.
#include <atomic>
#include <random>
#include <string>
#include <thread>
#include <vector>

#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_split.h"
#include "absl/strings/strip.h"
#include "common/status/status_macros.h"
#include "gtest/gtest.h"
#include "tests/e2e/agent/agent_e2e.h"
#include "tests/e2e/agent/hello_app.h"
#include "tests/e2e/testing/test_host.h"
#include "tests/testing/temp_dir.h"

namespace pyservice::testing {
namespace {

constexpr char kRepoUrl[] = "ssh://git@127.0.0.1:2222/srv/git/hello.git";

constexpr char kSshdConfig[] = R"(Port 2222
ListenAddress 127.0.0.1
HostKey /etc/ssh/e2e_host_key
AuthenticationMethods publickey
PasswordAuthentication no
KbdInteractiveAuthentication no
UsePAM no
AllowUsers git
PidFile /run/e2e-sshd.pid
)";

// The git user (git-shell: it may only fetch), sshd's privilege-separation
// user, a host key, and the bare repo in git's home. The host's /etc
// starts empty, hence the explicit groups (no login.defs).
constexpr char kSshdSetup[] = R"(set -e
groupadd --system sshd
useradd --system --gid sshd --home-dir /run/sshd --shell /usr/sbin/nologin sshd
groupadd git
useradd --gid git --home-dir /srv/git --shell /usr/bin/git-shell git
usermod --password '*' git
mkdir -p /etc/ssh /run/sshd /srv/git/.ssh
ssh-keygen -q -t ed25519 -N '' -C e2e-host -f /etc/ssh/e2e_host_key
cp -r /srv/git-src/hello.git /srv/git/hello.git
chown -R git:git /srv/git
chmod 755 /srv/git
chmod 700 /srv/git/.ssh
)";

std::string RandomHex(int bytes) {
  std::random_device random;
  std::string hex;
  for (int i = 0; i < bytes; ++i) absl::StrAppend(&hex, absl::Hex(random() & 0xff, absl::kZeroPad2));
  return hex;
}

class AgentSshTest : public ::testing::Test {
 protected:
  static void SetUpTestSuite() {
    repos_ = &GetHelloRepos();
    keys_ = new TempDir;
    // The deploy key, generated here as an operator would.
    ProcessOptions keygen;
    keygen.argv = {"ssh-keygen", "-q", "-t", "ed25519", "-N", "", "-C", "pyservice-e2e-deploy",
                   "-f", keys_->Join("deploy_key")};
    auto generated = RunProcess(keygen);
    if (!generated.ok() || !generated->Succeeded()) {
      setup_error_ = new std::string(absl::StrCat("ssh-keygen: ", Describe(generated)));
      return;
    }
    auto host = BootAgentHost({{.source = repos_->dir, .target = "/srv/git-src"}});
    if (!host.ok()) {
      setup_error_ = new std::string(host.status().ToString());
      return;
    }
    host_ = host->release();
    if (absl::Status sshd = StartSshd(); !sshd.ok()) {
      setup_error_ = new std::string(absl::StrCat("starting sshd: ", sshd.ToString()));
    }
  }
  static void TearDownTestSuite() {
    delete host_;
    host_ = nullptr;
    delete keys_;
    keys_ = nullptr;
  }

  static absl::Status StartSshd() {
    RETURN_IF_ERROR(host_->RunOk({"sh", "-c", kSshdSetup}).status());
    ASSIGN_OR_RETURN(std::string public_key, ReadOuter(keys_->Join("deploy_key.pub")));
    RETURN_IF_ERROR(host_->WriteFile("/srv/git/.ssh/authorized_keys", public_key, 0600));
    RETURN_IF_ERROR(host_->RunOk({"chown", "git:git", "/srv/git/.ssh/authorized_keys"}).status());
    RETURN_IF_ERROR(host_->WriteFile("/etc/ssh/e2e_sshd_config", kSshdConfig, 0644));
    RETURN_IF_ERROR(host_->RunOk({"/usr/sbin/sshd", "-t", "-f", "/etc/ssh/e2e_sshd_config"}).status());
    RETURN_IF_ERROR(host_->RunOk({"systemd-run", "--quiet", "--unit=e2e-sshd", "/usr/sbin/sshd",
                                  "-D", "-e", "-f", "/etc/ssh/e2e_sshd_config"})
                        .status());
    return host_
        ->RunUntilSuccess({"ssh-keyscan", "-T", "2", "-p", "2222", "127.0.0.1"}, absl::Seconds(20))
        .status();
  }

  static absl::StatusOr<std::string> ReadOuter(const std::string& path) {
    ProcessOptions cat;
    cat.argv = {"cat", path};
    ASSIGN_OR_RETURN(ProcessResult result, RunProcess(cat));
    if (!result.Succeeded()) return absl::InternalError(Describe(result));
    return result.stdout_text;
  }

  void SetUp() override {
    ASSERT_EQ(setup_error_, nullptr) << *setup_error_;
    ASSERT_FALSE(repos_->commits.empty()) << "building the hello repo failed";
    auto key = ReadOuter(keys_->Join("deploy_key"));
    ASSERT_TRUE(key.ok()) << key.status();
    deploy_key_ = *key;
  }

  static std::string ReleaseId(const std::string& tag) {
    return absl::StrCat(tag, "-", repos_->commits.at(tag).substr(0, 12));
  }

  static const HelloRepos* repos_;
  static TempDir* keys_;
  static TestHost* host_;
  static std::string* setup_error_;
  std::string deploy_key_;
};

const HelloRepos* AgentSshTest::repos_ = nullptr;
TempDir* AgentSshTest::keys_ = nullptr;
TestHost* AgentSshTest::host_ = nullptr;
std::string* AgentSshTest::setup_error_ = nullptr;

TEST_F(AgentSshTest, ClonesOverSshWithTheDeployKey) {
  const AppOptions app = {.name = "hello-ssh", .repo = kRepoUrl, .port = 8020,
                          .ssh_key = deploy_key_};
  ASSERT_TRUE(WriteApp(*host_, app).ok());
  // As the agent runs in production: a system service, which has no HOME
  // (libgit2 needs one for ssh remotes); --pipe brings its output here.
  auto applied = host_->Run({"systemd-run", "--quiet", "--wait", "--pipe", "--collect",
                             "--unit=agent-hello-ssh", AgentPathInHost(),
                             "--pip-option=--no-index", "apply", AppYamlPath(app.name)},
                            {.timeout = absl::Minutes(4)});
  ASSERT_TRUE(applied.ok() && applied->Succeeded()) << Describe(applied);

  auto body = HttpGet(*host_, app.port);
  EXPECT_EQ(body.value_or(body.status().ToString()), "hello v1");
  auto code = host_->RunOk({"readlink", "/applications/hello-ssh/app/code"});
  EXPECT_EQ(absl::StripTrailingAsciiWhitespace(code.value_or("?")),
            absl::StrCat("/applications/hello-ssh/app/releases/", ReleaseId("v1")));

  // The key where the role puts it: the app user's, 0600.
  auto key_stat = StatPath(*host_, "/applications/hello-ssh/app/config/ssh_key");
  EXPECT_EQ(key_stat.value_or(key_stat.status().ToString()),
            "hello-ssh:hello-ssh 600 regular file");
  EXPECT_EQ(host_->ReadFile("/applications/hello-ssh/app/config/ssh_key").value_or("?"),
            deploy_key_);

  // sshd let the deploy key in.
  ProcessOptions fingerprint;
  fingerprint.argv = {"ssh-keygen", "-l", "-f", keys_->Join("deploy_key.pub")};
  auto printed = RunProcess(fingerprint);
  ASSERT_TRUE(printed.ok() && printed->Succeeded()) << Describe(printed);
  const std::vector<std::string> fields = absl::StrSplit(printed->stdout_text, ' ');
  ASSERT_GE(fields.size(), 2u);
  auto journal = host_->RunOk({"journalctl", "--no-pager", "-o", "cat", "-u", "e2e-sshd.service"});
  ASSERT_TRUE(journal.ok()) << journal.status();
  EXPECT_TRUE(absl::StrContains(*journal, "Accepted publickey for git from 127.0.0.1"))
      << *journal;
  EXPECT_TRUE(absl::StrContains(*journal, fields[1])) << fields[1] << " not in:\n" << *journal;

  // The server's host key was remembered (accept-new).
  auto host_key = host_->ReadFile("/etc/ssh/e2e_host_key.pub");
  ASSERT_TRUE(host_key.ok()) << host_key.status();
  const std::vector<std::string> key_fields = absl::StrSplit(*host_key, ' ');
  ASSERT_GE(key_fields.size(), 2u);
  auto known = host_->ReadFile("/var/lib/pyservice-agent/apps/hello-ssh/known_hosts");
  EXPECT_TRUE(known.ok() && absl::StrContains(*known, absl::StrCat("[127.0.0.1]:2222 ",
                                                                   key_fields[0], " ",
                                                                   key_fields[1])))
      << known.value_or(known.status().ToString());
}

TEST_F(AgentSshTest, SecretsNeverInTheJournalOrAnyCommandLine) {
  const std::string secret = absl::StrCat("pyservice-e2e-secret-", RandomHex(12));
  const AppOptions app = {.name = "hello-secret", .repo = kRepoUrl, .port = 8021,
                          .secret = secret, .ssh_key = deploy_key_};
  ASSERT_TRUE(WriteApp(*host_, app).ok());
  // What must never show: the file's content and every line of the key.
  std::vector<std::string> needles = {secret};
  for (absl::string_view line : absl::StrSplit(deploy_key_, '\n', absl::SkipEmpty())) {
    if (!absl::StartsWith(line, "-----")) needles.emplace_back(line);
  }
  ASSERT_GE(needles.size(), 3u);

  // Command lines of every process on the machine, sampled while the agent
  // runs: the agent itself and what it starts (useradd, venv, pip, ...).
  std::atomic<bool> done{false};
  std::vector<std::string> leaks;
  int snapshots = 0;
  bool saw_agent = false, saw_pip = false;
  std::thread watcher([&] {
    while (!done) {
      for (const auto& [pid, cmdline] : SnapshotCommandLines()) {
        if (absl::StrContains(cmdline, "hello-secret.yaml")) saw_agent = true;
        if (absl::StrContains(cmdline, "hello-secret/app/releases") &&
            absl::StrContains(cmdline, "-m pip install")) {
          saw_pip = true;
        }
        for (const std::string& needle : needles) {
          if (absl::StrContains(cmdline, needle)) leaks.push_back(cmdline);
        }
      }
      ++snapshots;
      absl::SleepFor(absl::Milliseconds(2));
    }
  });
  // As a service, so that everything the agent prints (debug logs too)
  // goes to the journal.
  auto applied = host_->Run({"systemd-run", "--quiet", "--wait", "--collect",
                             "--unit=agent-hello-secret", AgentPathInHost(), "--log-level=debug",
                             "--pip-option=--no-index", "apply", AppYamlPath(app.name)},
                            {.timeout = absl::Minutes(4)});
  done = true;
  watcher.join();
  ASSERT_TRUE(applied.ok()) << applied.status();
  auto journal = host_->RunOk({"journalctl", "--no-pager", "--all", "-o", "verbose"});
  ASSERT_TRUE(journal.ok()) << journal.status();
  ASSERT_TRUE(applied->Succeeded()) << Describe(*applied) << "\n"
                                    << host_->RunOk({"journalctl", "--no-pager", "-o", "cat",
                                                     "-u", "agent-hello-secret.service"})
                                           .value_or("");

  // The secrets were deployed...
  EXPECT_EQ(host_->ReadFile("/applications/hello-secret/app/config/secret.txt").value_or("?"),
            secret + "\n");
  EXPECT_EQ(host_->ReadFile("/applications/hello-secret/app/config/ssh_key").value_or("?"),
            deploy_key_);
  // ... the watcher and the journal saw the deploy ...
  EXPECT_TRUE(saw_agent) << snapshots << " snapshots";
  EXPECT_TRUE(saw_pip) << snapshots << " snapshots";
  EXPECT_TRUE(absl::StrContains(*journal, "hello-secret: v1 is live and healthy"));
  EXPECT_TRUE(absl::StrContains(*journal, "debug pyservice-agent: git:"));
  // ... and neither ever showed them.
  EXPECT_TRUE(leaks.empty()) << leaks.size() << " command lines held a secret, e.g. "
                             << leaks.front();
  for (const std::string& needle : needles) {
    EXPECT_FALSE(absl::StrContains(*journal, needle)) << "the journal holds a secret";
  }
}

}  // namespace
}  // namespace pyservice::testing
