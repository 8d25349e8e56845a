// Validation of the individual values of an app spec. Each returns OK or
// INVALID_ARGUMENT with a message that completes "FIELD: ..." — the parser
// adds the location and the field name. They are the single definition of
// what a valid name, tag, URL... is; the agent and controller reuse them.
#ifndef PYSERVICE_COMMON_SPEC_VALIDATORS_H_
#define PYSERVICE_COMMON_SPEC_VALIDATORS_H_

#include <cstdint>
#include "absl/strings/string_view.h"

#include "absl/strings/string_view.h"
#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "pyservice/v1/spec.pb.h"

namespace pyservice::spec {

inline constexpr size_t kMaxNameLength = 32;

// Required fields (name, repo, tag, commands, schedules, dests...) must say
// something: "" and whitespace only are mistakes, never values.
absl::Status ValidateRequired(absl::string_view value);

// App, service and timer names: [a-z][a-z0-9-]*, at most 32 characters.
// They become unit names and directory names, so nothing else is allowed.
absl::Status ValidateName(absl::string_view name);

// Python module names (app_module, used in commands): a dotted identifier.
absl::Status ValidateModule(absl::string_view module);

// User and group names, by the intersection of shadow's and systemd's rules:
// [a-zA-Z_][a-zA-Z0-9_.-]*, optionally ending in '$', at most 32
// characters, not all digits.
absl::Status ValidateUserOrGroup(absl::string_view name);

// Text that ends up on one line of a unit file: no newline, no NUL or other
// control characters. `what` is "command" or "description".
absl::Status ValidateUnitLine(absl::string_view text, absl::string_view what);

// Git remote URLs: https://, ssh://, scp-like user@host:path, file://.
// Nothing that git could read as an option ("-...") or a transport helper
// ("ext::").
absl::Status ValidateRepoUrl(absl::string_view url);

// A tag, branch or commit: a valid git ref name (git-check-ref-format) or a
// hex object id, never starting with '-'.
absl::Status ValidateGitRef(absl::string_view ref);

// uv version pin: digits and dots with an optional pre-release suffix.
absl::Status ValidateUvVersion(absl::string_view version);

// File mode as written in app.yaml: a 3-4 digit octal string ("0640").
// Setuid, setgid and sticky bits are refused.
absl::StatusOr<uint32_t> ParseFileMode(absl::string_view text);

// Durations: one or more <integer><unit> with unit ms, s, m or h
// ("10s", "2m", "1m30s"). Result in milliseconds; at most 24 h.
absl::StatusOr<uint32_t> ParseDurationMs(absl::string_view text);
std::string FormatDurationMs(uint32_t ms);

// "10%" (0-100) for a percentage, or a plain host count when `allow_count`.
absl::StatusOr<v1::WaveSize> ParseWaveSize(absl::string_view text, bool allow_count);
std::string FormatWaveSize(const v1::WaveSize& size);

// Label keys and values (targets.labels, agent --label): 1-63 characters of
// [A-Za-z0-9._-] (keys may also contain '/'), starting alphanumerically.
absl::Status ValidateLabelKey(absl::string_view key);
absl::Status ValidateLabelValue(absl::string_view value);

// Absolute, normalized paths (no "..", ".", "//" or trailing '/'), free of
// whitespace and control characters because they are written into units.
absl::Status ValidateAbsolutePath(absl::string_view path);

// The health check URL: http:// with a host (checked from the host itself).
absl::Status ValidateHealthUrl(absl::string_view url);

// An OpenSSH or PEM private key. The message never quotes the key.
absl::Status ValidateSshKey(absl::string_view key);

}  // namespace pyservice::spec

#endif  // PYSERVICE_COMMON_SPEC_VALIDATORS_H_
