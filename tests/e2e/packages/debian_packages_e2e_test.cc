// The Debian packages (deploy/debian/, built by deploy/package.sh) on a
// fresh systemd test host, as an operator uses them: dpkg -i of the three
// .debs, the controller running as its own user, the agent enabled but
// waiting for its config, then configured (TLS, an enrollment token) and
// started with systemctl, `pyctl get hosts` showing the host connected, the
// example app deployed by the packaged agent and `pyctl status` showing it
// on the host, and a purge.
//
// The host is the outer Debian installation under a throwaway writable
// overlay (TestHostOptions::overlay_root): dpkg checks the packages'
// Depends (from dpkg-shlibdeps) against a real package database, and the
// packages' files land only in the overlay. A machine that cannot build the
// packages or boot the host fails this test, saying why.
#include <memory>
#include <string>
#include <vector>

#include "absl/strings/str_cat.h"
#include "absl/strings/strip.h"
#include "absl/time/time.h"
#include "common/process/subprocess.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "tests/e2e/agent/hello_app.h"
#include "tests/e2e/fleet/fleet_e2e.h"  // HelloAppYaml
#include "tests/e2e/testing/test_host.h"
#include "tests/testing/temp_dir.h"

namespace pyservice::testing {
namespace {

using ::testing::HasSubstr;

constexpr char kHost[] = "pkg-host";
constexpr char kAdminSocket[] = "unix:/run/pyservice/admin.sock";

// A program of this checkout run on the outer machine; its output on failure.
std::string RunScript(const std::vector<std::string>& argv, bool& ok) {
  ProcessOptions options;
  options.argv = argv;
  options.working_dir = PYSERVICE_SOURCE_DIR;
  options.timeout = absl::Minutes(15);
  absl::StatusOr<ProcessResult> result = RunProcess(options);
  ok = result.ok() && result->Succeeded();
  if (!result.ok()) return result.status().ToString();
  return absl::StrCat(result->Describe(), "\n", result->stdout_text, result->stderr_text);
}

class DebianPackagesE2eTest : public ::testing::Test {
 protected:
  // Runs argv in the host; the test fails with its output unless it exits 0.
  std::string InHost(const std::vector<std::string>& argv) {
    absl::StatusOr<std::string> out = host_->RunOk(argv, {.timeout = absl::Seconds(120)});
    EXPECT_TRUE(out.ok()) << out.status();
    return out.ok() ? *out : "";
  }
  // stdout of argv in the host, whatever its exit status, without the
  // trailing newline (systemctl is-active and friends).
  std::string Query(const std::vector<std::string>& argv) {
    absl::StatusOr<ProcessResult> result = host_->Run(argv);
    EXPECT_TRUE(result.ok()) << result.status();
    return result.ok() ? std::string(absl::StripTrailingAsciiWhitespace(result->stdout_text))
                       : "";
  }
  std::string Journal(const std::string& unit) {
    absl::StatusOr<ProcessResult> journal =
        host_->Run({"journalctl", "--no-pager", "-n", "60", "-u", unit});
    return journal.ok() ? journal->stdout_text : journal.status().ToString();
  }

  TempDir dir_;
  std::unique_ptr<TestHost> host_;
};

TEST_F(DebianPackagesE2eTest, InstallRunConfigureAndPurgeOnAFreshSystemdHost) {
  // The packages, exactly as an operator builds them.
  bool ok = false;
  const std::string debs = dir_.Join("debs");
  std::string out = RunScript({"bash", "deploy/package.sh", debs}, ok);
  ASSERT_TRUE(ok) << "deploy/package.sh failed; the packages cannot be tested:\n" << out;
  const std::string tls = dir_.Join("tls");
  out = RunScript({"bash", "deploy/tls/make-test-ca.sh", tls}, ok);
  ASSERT_TRUE(ok) << "deploy/tls/make-test-ca.sh: " << out;

  // The example app the agent deploys once it runs (tests/e2e/agent/).
  const HelloRepos& repos = GetHelloRepos();
  ASSERT_FALSE(HasFailure());

  auto host = TestHost::Boot({.machine_name = kHost,
                              .binds = {{.source = debs, .target = "/opt/debs"},
                                        {.source = tls, .target = "/opt/tls"},
                                        {.source = repos.dir, .target = "/srv/git"}},
                              .private_network = true,
                              .overlay_root = true,
                              .masked_units = {"ssh.service", "ssh.socket"}});
  ASSERT_TRUE(host.ok()) << host.status();
  host_ = *std::move(host);
  ASSERT_EQ(Query({"dpkg-query", "-W", "-f=${Status}", "pyservice-controller"}), "")
      << "the host is not fresh: pyservice-controller is known to its dpkg";

  // Install: dpkg itself, which refuses packages whose Depends are unmet.
  InHost({"sh", "-c",
          "dpkg -i /opt/debs/pyctl_*.deb /opt/debs/pyservice-agent_*.deb "
          "/opt/debs/pyservice-controller_*.deb"});
  ASSERT_FALSE(HasFailure());
  EXPECT_EQ(Query({"dpkg-query", "-W", "-f=${db:Status-Abbrev}", "pyctl", "pyservice-agent",
                   "pyservice-controller"}),
            "ii ii ii");
  EXPECT_THAT(Query({"dpkg", "--audit"}), "");
  EXPECT_THAT(Query({"dpkg-query", "-W", "-f=${Depends}", "pyservice-agent"}),
              HasSubstr("libgrpc++1.51"));

  // The controller: started at install, as its own system user.
  EXPECT_EQ(Query({"systemctl", "is-active", "pyservice-controller.service"}), "active")
      << Journal("pyservice-controller.service");
  EXPECT_EQ(Query({"systemctl", "show", "-P", "User", "pyservice-controller.service"}),
            "pyservice-controller");
  const std::string pid = Query({"systemctl", "show", "-P", "MainPID",
                                 "pyservice-controller.service"});
  EXPECT_EQ(Query({"stat", "-c", "%U", absl::StrCat("/proc/", pid)}), "pyservice-controller");
  // The agent: enabled, not started until configured.
  EXPECT_EQ(Query({"systemctl", "is-enabled", "pyservice-agent.service"}), "enabled");
  EXPECT_EQ(Query({"systemctl", "is-active", "pyservice-agent.service"}), "inactive");
  // Started unconfigured (as at boot), it fails once with a config error
  // (exit status 2) and is not restarted in a loop.
  EXPECT_FALSE(host_->RunOk({"systemctl", "start", "pyservice-agent.service"}).ok());
  EXPECT_EQ(Query({"systemctl", "is-active", "pyservice-agent.service"}), "failed")
      << Journal("pyservice-agent.service");
  EXPECT_THAT(Journal("pyservice-agent.service"), HasSubstr("--controller ADDR"));
  InHost({"systemctl", "reset-failed", "pyservice-agent.service"});
  // Files that can hold secrets: nobody else reads them.
  EXPECT_EQ(Query({"stat", "-c", "%a %U:%G", "/etc/pyservice/agent.yaml"}), "600 root:root");
  EXPECT_EQ(Query({"stat", "-c", "%a %U:%G", "/etc/pyservice/controller.yaml"}),
            "640 root:pyservice-controller");
  EXPECT_EQ(Query({"stat", "-c", "%a %U:%G", "/etc/pyservice-controller/secrets.key"}),
            "600 root:root");
  EXPECT_THAT(Query({"dpkg-query", "-W", "-f=${Conffiles}", "pyservice-agent"}),
              HasSubstr("/etc/pyservice/agent.yaml "));
  // Binaries, man pages and completions where an operator looks (zsh's
  // default $fpath has /usr/share/zsh/vendor-completions).
  InHost({"test", "-x", "/usr/bin/pyctl", "-a", "-x", "/usr/sbin/pyservice-agent", "-a", "-x",
          "/usr/sbin/pyservice-controller"});
  EXPECT_THAT(InHost({"man", "-P", "cat", "8", "pyservice-agent"}), HasSubstr("--controller"));
  EXPECT_THAT(InHost({"bash", "-c",
                      "source /usr/share/bash-completion/completions/pyctl && "
                      "COMP_WORDS=(pyctl rollout ''); COMP_CWORD=2; _pyctl; "
                      "echo ${COMPREPLY[*]}"}),
              HasSubstr("promote"));
  EXPECT_EQ(InHost({"zsh", "-f", "-c",
                    "autoload -U compinit && compinit -u -D && print -r -- ${_comps[pyctl]}"}),
            "_pyctl\n");

  // Configure as an operator would: TLS for the controller (editing its
  // conffile), the CA and an enrollment token for the agent.
  absl::StatusOr<std::string> configured = host_->RunOk({"sh", "-c",
          "install -d -m 0755 /etc/pyservice/tls && "
          "install -m 0644 /opt/tls/ca.crt /opt/tls/server.crt /etc/pyservice/tls/ && "
          "install -m 0640 -g pyservice-controller /opt/tls/server.key /etc/pyservice/tls/ && "
          "printf 'tls_cert: /etc/pyservice/tls/server.crt\\n"
          "tls_key: /etc/pyservice/tls/server.key\\n' >>/etc/pyservice/controller.yaml && "
          "systemctl restart pyservice-controller.service"});
  ASSERT_TRUE(configured.ok()) << configured.status() << Journal("pyservice-controller.service");
  const std::string token = InHost({"pyctl", "--controller", kAdminSocket, "host",
                                    "enroll-token", kHost, "--label", "role=web"});
  ASSERT_FALSE(token.empty()) << Journal("pyservice-controller.service");
  ASSERT_TRUE(host_->WriteFile("/etc/pyservice/enroll.token", token, 0600).ok());
  ASSERT_TRUE(host_->WriteFile("/etc/pyservice/agent.yaml",
                               absl::StrCat("controller: unix:/run/pyservice/controller.sock\n"
                                            "host: ", kHost, "\n"
                                            "tls_ca: /etc/pyservice/tls/ca.crt\n"
                                            "enrollment_token_file: /etc/pyservice/enroll.token\n"
                                            "state_dir: /var/lib/pyservice-agent\n"
                                            // No package index in the host:
                                            // hello needs no packages.
                                            "pip_options: [--no-index]\n"),
                               0600)
                  .ok());
  InHost({"systemctl", "start", "pyservice-agent.service"});
  EXPECT_EQ(Query({"systemctl", "is-active", "pyservice-agent.service"}), "active")
      << Journal("pyservice-agent.service");

  // pyctl against the packaged controller sees the packaged agent connected,
  // and the agent deploys an app it is given.
  absl::StatusOr<ProcessResult> hosts = host_->RunUntilSuccess(
      {"sh", "-c",
       absl::StrCat("pyctl --controller ", kAdminSocket, " get hosts | grep -w ", kHost,
                    " | grep -w yes")},
      absl::Seconds(60));
  ASSERT_TRUE(hosts.ok()) << hosts.status() << "\n" << Journal("pyservice-agent.service");
  ASSERT_TRUE(host_->WriteFile("/root/hello.yaml", HelloAppYaml()).ok());
  absl::StatusOr<std::string> applied =
      host_->RunOk({"pyctl", "--controller", kAdminSocket, "apply", "/root/hello.yaml"},
                   {.timeout = absl::Minutes(5)});
  ASSERT_TRUE(applied.ok()) << applied.status() << "\n" << Journal("pyservice-agent.service");
  const std::string status = InHost({"pyctl", "--controller", kAdminSocket, "status"});
  EXPECT_THAT(status, HasSubstr(kHost));
  EXPECT_THAT(status, HasSubstr("hello"));

  // Purge: programs, units and config gone; the services stopped.
  InHost({"dpkg", "--purge", "pyservice-agent", "pyservice-controller", "pyctl"});
  EXPECT_EQ(Query({"dpkg-query", "-W", "-f=${db:Status-Abbrev}", "pyservice-agent"}), "");
  EXPECT_EQ(Query({"systemctl", "is-active", "pyservice-controller.service",
                   "pyservice-agent.service"}),
            "inactive\ninactive");
  for (const char* gone : {"/usr/bin/pyctl", "/usr/sbin/pyservice-agent",
                           "/lib/systemd/system/pyservice-controller.service",
                           "/etc/pyservice/agent.yaml", "/etc/pyservice/controller.yaml"}) {
    EXPECT_EQ(Query({"sh", "-c", absl::StrCat("test -e ", gone, " || echo gone")}), "gone")
        << gone;
  }
  // Kept on purpose (deploy/debian/*/postrm): the fleet's store and its key.
  EXPECT_EQ(Query({"sh", "-c",
                   "test -f /etc/pyservice-controller/secrets.key && "
                   "test -d /var/lib/pyservice-controller && echo kept"}),
            "kept");
}

}  // namespace
}  // namespace pyservice::testing
