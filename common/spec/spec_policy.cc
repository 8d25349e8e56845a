#include "common/spec/spec_policy.h"

#include <algorithm>

#include "absl/strings/escaping.h"
#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "common/spec/calendar.h"
#include "common/spec/template.h"
#include "common/spec/validators.h"

namespace pyservice::spec {
namespace {

// Accounts of the base system and of common packages: an app running as
// one of them could read or change what that service owns.
constexpr absl::string_view kSystemUsers[] = {
    "root",  "toor", "daemon", "bin", "sys", "sync", "games", "man", "lp", "mail", "news",
    "uucp", "proxy", "www-data", "backup", "list", "irc", "gnats", "nobody", "_apt",
    "systemd-network", "systemd-resolve", "systemd-timesync", "systemd-coredump",
    "messagebus", "sshd", "syslog", "polkitd", "postgres", "mysql", "redis", "nginx",
    "Debian-exim", "postfix", "dnsmasq", "avahi", "ntp", "_chrony", "tss", "uuidd",
    "pyservice-agent"};

// Groups whose members may become root, read every log or secret, or
// reach devices: root, sudo, wheel, admin (sudo on older systems), adm
// (logs), docker/lxd (root through the daemon), shadow (password hashes),
// disk/kmem (raw devices and memory), systemd-journal, staff (writes to
// /usr/local), and the base system's other groups.
constexpr absl::string_view kPrivilegedGroups[] = {
    "root", "sudo", "wheel", "admin", "adm", "docker", "lxd", "shadow", "disk", "kmem",
    "systemd-journal", "staff", "daemon", "bin", "sys", "tty", "mem", "lp", "mail", "news",
    "uucp", "man", "proxy", "kvm", "dialout", "fax", "voice", "cdrom", "floppy", "tape",
    "audio", "video", "operator", "src", "backup", "list", "irc", "gnats", "utmp", "input",
    "render", "sgx", "netdev", "plugdev", "crontab", "messagebus", "ssh", "_ssh", "users",
    "nogroup", "libvirt", "lpadmin", "systemd-network", "systemd-resolve", "systemd-timesync",
    "systemd-coredump", "www-data", "postgres", "mysql", "ssl-cert", "tss", "pyservice-admins"};

// An app root (or the global root) equal to or under one of these would
// have the agent create, chown or write system files.
constexpr absl::string_view kSystemTrees[] = {
    "/etc", "/usr", "/bin", "/sbin", "/lib", "/lib32", "/lib64", "/libx32", "/boot", "/dev",
    "/proc", "/sys", "/run", "/root", "/home", "/var/lib/pyservice-agent", "/var/lib/systemd",
    "/var/lib/dpkg", "/var/lib/apt", "/var/spool", "/var/log", "/var/cache", "/var/mail"};
// Shared directories: neither an app root nor the global root (whose
// GLOBAL_APP_ROOT/APP could then be /var/lib or /var/www).
constexpr absl::string_view kSystemDirectories[] = {
    "/", "/var", "/var/lib", "/var/tmp", "/var/opt", "/var/local", "/var/backups", "/var/www",
    "/tmp", "/mnt", "/media", "/srv", "/opt"};
// ...except these two, made to hold services' trees (/srv/APP, /opt/APP).
constexpr absl::string_view kServiceParents[] = {"/srv", "/opt"};

constexpr uint32_t kFirstOrdinaryId = 1000;
constexpr uint32_t kOverflowId = 65534;

std::string Quote(absl::string_view value) {
  std::string shown = absl::CHexEscape(value.substr(0, 64));
  if (value.size() > 64) shown += "...";
  return absl::StrCat("\"", shown, "\"");
}

bool Listed(absl::string_view name, const auto& list) {
  return std::find(std::begin(list), std::end(list), name) != std::end(list);
}

bool Inside(absl::string_view path, absl::string_view dir) {
  return absl::StartsWith(path, dir) && path.size() > dir.size() && path[dir.size()] == '/';
}

class Checker {
 public:
  Checker(const v1::AppSpec& spec, const SpecPolicy& policy)
      : spec_(spec), policy_(policy), variables_(RoleVariables(spec)) {}

  std::vector<PolicyViolation> Run() {
    CheckRequired();
    CheckValues();
    CheckAccounts();
    CheckRoots();
    CheckPaths();
    CheckUnits();
    CheckFiles();
    return std::move(violations_);
  }

 private:
  void Refuse(std::string field, std::string message) {
    violations_.push_back({std::move(field), std::move(message)});
  }
  bool Check(const std::string& field, const absl::Status& status) {
    if (!status.ok()) Refuse(field, std::string(status.message()));
    return status.ok();
  }
  // The value of a templated field after expansion; nullopt (and refused)
  // when it does not expand.
  std::optional<std::string> Expanded(const std::string& field, const std::string& value) {
    absl::StatusOr<std::string> expanded = ExpandTemplate(value, variables_);
    if (!Check(field, expanded.status())) return std::nullopt;
    return *std::move(expanded);
  }
  // Required fields that are blank are refused once, by CheckRequired.
  static bool Given(const std::string& value) { return ValidateRequired(value).ok(); }
  void Required(const std::string& field, const std::string& value) {
    Check(field, ValidateRequired(value));
  }

  void CheckRequired() {
    for (const auto& [field, value] :
         {std::pair{"name", &spec_.name()}, std::pair{"module", &spec_.module()},
          std::pair{"user", &spec_.user()}, std::pair{"group", &spec_.group()},
          std::pair{"repo", &spec_.repo()}, std::pair{"tag", &spec_.tag()}}) {
      Required(field, *value);
    }
    for (int i = 0; i < spec_.services_size(); ++i) {
      const std::string at = absl::StrCat("services[", i, "]");
      Required(at + ".name", spec_.services(i).name());
      Required(at + ".command", spec_.services(i).command());
    }
    for (int i = 0; i < spec_.timers_size(); ++i) {
      const std::string at = absl::StrCat("timers[", i, "]");
      Required(at + ".name", spec_.timers(i).name());
      Required(at + ".schedule", spec_.timers(i).schedule());
      Required(at + ".command", spec_.timers(i).command());
    }
    for (int i = 0; i < spec_.files_size(); ++i) {
      Required(absl::StrCat("files[", i, "].dest"), spec_.files(i).dest());
    }
  }

  // The validators again: a spec that reaches an agent did not necessarily
  // come through the parser (another controller, a hand-made request).
  void CheckValues() {
    if (Given(spec_.name())) Check("name", ValidateName(spec_.name()));
    if (Given(spec_.module())) Check("module", ValidateModule(spec_.module()));
    if (Given(spec_.user())) Check("user", ValidateUserOrGroup(spec_.user()));
    if (Given(spec_.group())) Check("group", ValidateUserOrGroup(spec_.group()));
    if (Given(spec_.repo())) Check("repo", ValidateRepoUrl(spec_.repo()));
    if (Given(spec_.tag())) Check("tag", ValidateGitRef(spec_.tag()));
    if (!spec_.uv_version().empty()) Check("uv_version", ValidateUvVersion(spec_.uv_version()));
    if (!spec_.ssh_key().empty()) Check("ssh_key", ValidateSshKey(spec_.ssh_key()));
    if (!spec_.health().http().empty()) Check("health.http", ValidateHealthUrl(spec_.health().http()));
    for (const auto& [key, value] : spec_.targets().labels()) {
      Check(absl::StrCat("targets.labels.", absl::CHexEscape(key)), ValidateLabelKey(key)) &&
          Check(absl::StrCat("targets.labels.", key), ValidateLabelValue(value));
    }
  }

  void CheckAccounts() {
    const std::string& user = spec_.user();
    const std::string& group = spec_.group();
    if (!user.empty() && Listed(user, kSystemUsers) && !policy_.AllowsUser(user)) {
      Refuse("user", absl::StrCat(Quote(user), " is not allowed: ",
                                  user == "root" ? "the app's units would run as root"
                                                 : "it is a system account",
                                  "; an app runs as its own user (an admin may allow an "
                                  "account with spec_policy.allow_users)"));
    } else if (!spec_.ensure_user() && !user.empty() && !policy_.AllowsUser(user)) {
      Refuse("ensure_user", absl::StrCat("false names an existing account, ", Quote(user),
                                         ", which the admin's spec_policy.allow_users does not "
                                         "list; leave ensure_user true to get the app's own user"));
    }
    if (!group.empty() && Listed(group, kPrivilegedGroups) && !policy_.AllowsGroup(group)) {
      Refuse("group", absl::StrCat(Quote(group),
                                   " is not allowed: it is a privileged system group (an "
                                   "admin may allow it with spec_policy.allow_groups)"));
    }
  }

  // The roots must not be system directories: GLOBAL_APP_ROOT/APP or an
  // app_root of /etc would have the agent chown and write system files.
  void CheckRoots() {
    const v1::Paths& paths = spec_.paths();
    for (const auto& [field, path] :
         {std::pair{"paths.global_app_root", &paths.global_app_root()},
          std::pair{"paths.app_root", &paths.app_root()}}) {
      if (*path != "/" && !Check(field, ValidateAbsolutePath(*path))) continue;
      for (absl::string_view tree : kSystemTrees) {
        if (*path == tree || Inside(*path, tree)) {
          Refuse(field, absl::StrCat(Quote(*path), " is not allowed: it is ",
                                     *path == tree ? "" : "inside ", "the system directory ",
                                     tree));
          break;
        }
      }
      const bool global = absl::string_view(field) == "paths.global_app_root";
      if (Listed(*path, kSystemDirectories) && !(global && Listed(*path, kServiceParents))) {
        Refuse(field, absl::StrCat(Quote(*path),
                                   " is not allowed: it is a system directory, not an app's own"));
      }
    }
  }

  // Everything the agent creates or writes for the app stays in its root.
  void CheckPaths() {
    const v1::Paths& paths = spec_.paths();
    const std::string& root = paths.app_root();
    for (const auto& [field, path] :
         {std::pair{"paths.app_dir", &paths.app_dir()},
          std::pair{"paths.app_code_dir", &paths.app_code_dir()},
          std::pair{"paths.app_config_dir", &paths.app_config_dir()},
          std::pair{"paths.app_config", &paths.app_config()},
          std::pair{"paths.app_data_dir", &paths.app_data_dir()},
          std::pair{"paths.uv_location", &paths.uv_location()}}) {
      if (!Check(field, ValidateAbsolutePath(*path))) continue;
      // uv may be the role's shared binary, which the agent installs.
      if (absl::string_view(field) == "paths.uv_location" &&
          *path == absl::StrCat(paths.global_app_root(), "/uv")) {
        continue;
      }
      if (!Inside(*path, root)) {
        Refuse(field, absl::StrCat(Quote(*path), " is outside the app root (", root, "/...)"));
      }
    }
  }

  void CheckUnits() {
    const auto line = [&](const std::string& field, const std::string& value,
                          absl::string_view what) {
      if (std::optional<std::string> expanded = Expanded(field, value)) {
        Check(field, ValidateUnitLine(*expanded, what));
      }
    };
    for (int i = 0; i < spec_.services_size(); ++i) {
      const v1::Service& service = spec_.services(i);
      const std::string at = absl::StrCat("services[", i, "]");
      if (Given(service.name())) Check(at + ".name", ValidateName(service.name()));
      line(at + ".description", service.description(), "description");
      line(at + ".command", service.command(), "command");
    }
    for (int i = 0; i < spec_.timers_size(); ++i) {
      const v1::Timer& timer = spec_.timers(i);
      const std::string at = absl::StrCat("timers[", i, "]");
      if (Given(timer.name())) Check(at + ".name", ValidateName(timer.name()));
      if (Given(timer.schedule())) Check(at + ".schedule", ValidateCalendar(timer.schedule()));
      line(at + ".description", timer.description(), "description");
      line(at + ".command", timer.command(), "command");
    }
  }

  void CheckFiles() {
    const v1::Paths& paths = spec_.paths();
    for (int i = 0; i < spec_.files_size(); ++i) {
      const v1::File& file = spec_.files(i);
      const std::string field = absl::StrCat("files[", i, "].dest");
      if (file.mode() > 0777) {
        Refuse(absl::StrCat("files[", i, "].mode"),
               "setuid, setgid and sticky bits are not allowed");
      }
      // The content is a secret: only whether it expands is checked.
      if (!ExpandTemplate(file.content(), variables_).ok()) {
        Refuse(absl::StrCat("files[", i, "].content"), "does not expand (unknown variable)");
      }
      if (!Given(file.dest())) continue;
      std::optional<std::string> dest = Expanded(field, file.dest());
      if (!dest || !Check(field, ValidateAbsolutePath(*dest))) continue;
      if (!Inside(*dest, paths.app_root())) {
        Refuse(field, absl::StrCat(Quote(*dest), " is outside the app root (", paths.app_root(),
                                   "/...)"));
      } else if (*dest == paths.app_code_dir() || Inside(*dest, paths.app_code_dir())) {
        Refuse(field, absl::StrCat(Quote(*dest), " is inside the code checkout (",
                                   paths.app_code_dir(), "), which each release replaces"));
      }
    }
  }

  const v1::AppSpec& spec_;
  const SpecPolicy& policy_;
  const Variables variables_;
  std::vector<PolicyViolation> violations_;
};

}  // namespace

bool SpecPolicy::AllowsUser(absl::string_view user) const { return Listed(user, allow_users); }
bool SpecPolicy::AllowsGroup(absl::string_view group) const {
  return Listed(group, allow_groups);
}

std::vector<PolicyViolation> CheckSpecPolicy(const v1::AppSpec& spec, const SpecPolicy& policy) {
  return Checker(spec, policy).Run();
}

std::string AppUserComment(absl::string_view app) {
  return absl::StrCat("User for ", app, " service");
}

std::vector<PolicyViolation> CheckHostAccounts(const v1::AppSpec& expanded,
                                               const SpecPolicy& policy,
                                               const HostAccounts& host) {
  std::vector<PolicyViolation> violations;
  const std::string& user = expanded.user();
  const std::string& group = expanded.group();
  // The app's own user: the one the agent (or the role) created for it.
  bool own_user = false;
  if (host.user && !policy.AllowsUser(user)) {
    const HostUser& account = *host.user;
    const bool created_for_app = account.comment == AppUserComment(expanded.name()) &&
                                 account.home == expanded.paths().app_root();
    const auto refuse = [&](absl::string_view what) {
      violations.push_back(
          {"user", absl::StrCat(Quote(user), " is ", what, " (uid ", account.uid, ")",
                                created_for_app ? "" : " that pyservice did not create for this app",
                                "; an admin may allow it with spec_policy.allow_users")});
    };
    if (account.uid == 0) {
      refuse("root's uid");
    } else if (account.uid == kOverflowId) {
      refuse("the overflow account");
    } else if (!created_for_app) {
      refuse(account.uid < kFirstOrdinaryId ? "an existing system account"
                                            : "an existing account of someone else");
    } else {
      own_user = true;
    }
  } else if (host.user) {
    own_user = true;  // allowed by the admin
  }
  if (host.group && !policy.AllowsGroup(group)) {
    const HostGroup& entry = *host.group;
    const bool joined = own_user && (host.user->gid == entry.gid ||
                                     Listed(user, entry.members));
    const bool privileged =
        entry.gid == 0 || entry.gid == kOverflowId || (entry.gid < kFirstOrdinaryId && !joined);
    if (privileged) {
      violations.push_back(
          {"group", absl::StrCat(Quote(group), " is an existing system group (gid ", entry.gid,
                                 ") that is not the app's own; an admin may allow it with "
                                 "spec_policy.allow_groups")});
    }
  }
  return violations;
}

absl::Status PolicyStatus(const std::vector<PolicyViolation>& violations) {
  if (violations.empty()) return absl::OkStatus();
  std::vector<std::string> lines;
  for (const PolicyViolation& v : violations) {
    lines.push_back(absl::StrCat("spec policy: ", v.field, ": ", v.message));
  }
  return absl::InvalidArgumentError(absl::StrJoin(lines, "\n"));
}

}  // namespace pyservice::spec
