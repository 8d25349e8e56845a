#include "common/spec/validators.h"

#include <string>
#include <vector>

#include "absl/strings/ascii.h"
#include "absl/strings/escaping.h"
#include "absl/strings/match.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "absl/strings/str_split.h"
#include "common/text/url_credentials.h"

namespace pyservice::spec {
namespace {

absl::Status Invalid(absl::string_view message) {
  return absl::InvalidArgumentError(message);
}

// Values are quoted in messages; a hostile value must not smuggle a newline
// or an escape sequence into the operator's terminal.
std::string Quote(absl::string_view value) {
  std::string shown = absl::CHexEscape(value.substr(0, 64));
  if (value.size() > 64) shown += "...";
  return absl::StrCat("\"", shown, "\"");
}

// Repo URLs are quoted without their credentials: the message reaches
// operators and logs (text/url_credentials.h).
std::string QuoteUrl(absl::string_view url) { return Quote(text::RedactUrlCredentials(url)); }

bool HasControl(absl::string_view text) {
  for (unsigned char c : text) {
    if (c < 0x20 || c == 0x7f) return true;
  }
  return false;
}

bool IsHex(absl::string_view text) {
  for (char c : text) {
    if (!absl::ascii_isxdigit(static_cast<unsigned char>(c))) return false;
  }
  return true;
}

}  // namespace

absl::Status ValidateRequired(absl::string_view value) {
  if (value.empty()) return Invalid("must not be empty");
  if (absl::StripAsciiWhitespace(value).empty()) {
    return Invalid("must not be blank (only whitespace)");
  }
  return absl::OkStatus();
}

absl::Status ValidateName(absl::string_view name) {
  if (name.empty()) return Invalid("must not be empty");
  if (name.size() > kMaxNameLength) {
    return Invalid(absl::StrCat(Quote(name), " is longer than ", kMaxNameLength,
                                " characters"));
  }
  bool ok = name[0] >= 'a' && name[0] <= 'z';
  for (char c : name) {
    ok = ok && ((c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '-');
  }
  if (!ok) return Invalid(absl::StrCat(Quote(name), " must match [a-z][a-z0-9-]*"));
  return absl::OkStatus();
}

absl::Status ValidateModule(absl::string_view module) {
  // It ends up in commands through {{ app_module }}: a dotted identifier.
  bool ok = !module.empty();
  bool at_start = true;
  for (char c : module) {
    const bool letter = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || c == '_';
    const bool digit = c >= '0' && c <= '9';
    if (c == '.') {
      ok = ok && !at_start;
      at_start = true;
      continue;
    }
    ok = ok && (letter || (digit && !at_start));
    at_start = false;
  }
  ok = ok && !at_start;
  return ok ? absl::OkStatus()
            : Invalid("must be a Python module name like \"hello\" or \"hello.web\"");
}

absl::Status ValidateUserOrGroup(absl::string_view name) {
  if (name.empty()) return Invalid("must not be empty");
  if (name.size() > kMaxNameLength) {
    return Invalid(absl::StrCat(Quote(name), " is longer than ", kMaxNameLength,
                                " characters"));
  }
  const absl::string_view body =
      absl::EndsWith(name, "$") ? name.substr(0, name.size() - 1) : name;
  const auto is_first = [](char c) { return absl::ascii_isalpha(c) || c == '_'; };
  const auto is_rest = [](char c) {
    return absl::ascii_isalnum(c) || c == '_' || c == '.' || c == '-';
  };
  bool ok = !body.empty() && is_first(body[0]);
  for (char c : body) ok = ok && is_rest(c);
  if (!ok) {
    return Invalid(absl::StrCat(Quote(name),
                                " must match [a-zA-Z_][a-zA-Z0-9_.-]*$? "
                                "(no leading digit or '-', no ':' or spaces)"));
  }
  return absl::OkStatus();
}

absl::Status ValidateUnitLine(absl::string_view text, absl::string_view what) {
  if (text.find('\n') != text.npos || text.find('\r') != text.npos) {
    return Invalid(absl::StrCat(what, " must be a single line (it is written into a unit file)"));
  }
  if (HasControl(text)) {
    return Invalid(absl::StrCat(what, " must not contain control characters or NUL"));
  }
  return absl::OkStatus();
}

absl::Status ValidateRepoUrl(absl::string_view url) {
  if (url.empty()) return Invalid("must not be empty");
  if (url[0] == '-') return Invalid(absl::StrCat(QuoteUrl(url), " must not start with '-'"));
  if (HasControl(url) || absl::StrContains(url, " ")) {
    return Invalid("must not contain whitespace or control characters");
  }
  // git's "<transport>::<address>" runs a helper program named by the
  // transport ("ext::sh -c ..." runs anything).
  const size_t helper = url.find("::");
  if (helper != url.npos &&
      url.substr(0, helper).find_first_not_of(
          "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789+.-") == url.npos) {
    return Invalid(absl::StrCat(QuoteUrl(url), ": transport helpers (\"ext::\", \"fd::\") are not allowed"));
  }
  for (absl::string_view scheme : {"https://", "ssh://", "file://"}) {
    if (absl::StartsWith(url, scheme)) {
      const absl::string_view rest = url.substr(scheme.size());
      if (scheme == "file://") {
        if (rest.empty() || rest[0] != '/') {
          return Invalid(absl::StrCat(QuoteUrl(url), ": file:// URLs need an absolute path (file:///srv/git/x.git)"));
        }
      } else if (rest.empty() || rest[0] == '/' || rest.find('/') == rest.npos) {
        return Invalid(absl::StrCat(QuoteUrl(url), ": needs a host and a path"));
      }
      return absl::OkStatus();
    }
  }
  // scp-like: [user@]host:path, where host has no '/' (else git reads it as
  // a local path).
  const size_t colon = url.find(':');
  if (colon != url.npos && colon > 0 && url.substr(0, colon).find('/') == url.npos &&
      colon + 1 < url.size() && !absl::StrContains(url, "://")) {
    const size_t at = url.find('@');
    const size_t host_start = (at != url.npos && at < colon) ? at + 1 : 0;
    const absl::string_view host = url.substr(host_start, colon - host_start);
    if (host.empty() || host[0] == '-') {
      return Invalid(absl::StrCat(QuoteUrl(url), ": scp-like URLs need a host (git@host:org/repo.git)"));
    }
    return absl::OkStatus();
  }
  return Invalid(absl::StrCat(QuoteUrl(url),
                              " is not a supported repo URL (https://, ssh://, "
                              "git@host:path or file:///path)"));
}

absl::Status ValidateGitRef(absl::string_view ref) {
  if (ref.empty()) return Invalid("must not be empty");
  if (ref[0] == '-') return Invalid(absl::StrCat(Quote(ref), " must not start with '-'"));
  if (ref.size() > 255) return Invalid("is longer than 255 characters");
  if (IsHex(ref) && ref.size() >= 7) return absl::OkStatus();  // a commit id
  // git-check-ref-format(1), the rules that apply to a single ref.
  const auto bad = [&](absl::string_view why) {
    return Invalid(absl::StrCat(Quote(ref), " is not a valid tag, branch or commit: ", why));
  };
  for (unsigned char c : ref) {
    if (c < 0x20 || c == 0x7f || c == ' ') return bad("whitespace or control character");
    if (absl::string_view("~^:?*[\\").find(static_cast<char>(c)) != absl::string_view::npos) {
      return bad(absl::StrFormat("character '%c'", c));
    }
  }
  if (absl::StrContains(ref, "..")) return bad("contains \"..\"");
  if (absl::StrContains(ref, "@{")) return bad("contains \"@{\"");
  if (absl::StrContains(ref, "//")) return bad("contains \"//\"");
  if (ref == "@") return bad("\"@\" alone");
  if (ref.front() == '/' || ref.back() == '/') return bad("starts or ends with '/'");
  if (ref.back() == '.') return bad("ends with '.'");
  for (absl::string_view part : absl::StrSplit(ref, '/')) {
    if (absl::StartsWith(part, ".")) return bad("a component starts with '.'");
    if (absl::EndsWith(part, ".lock")) return bad("a component ends with \".lock\"");
  }
  return absl::OkStatus();
}

absl::Status ValidateUvVersion(absl::string_view version) {
  bool ok = !version.empty() && version.size() <= 32 && absl::ascii_isdigit(version[0]);
  for (char c : version) ok = ok && (absl::ascii_isalnum(c) || c == '.' || c == '-' || c == '+');
  if (!ok) return Invalid(absl::StrCat(Quote(version), " is not a version like \"0.5.1\""));
  return absl::OkStatus();
}

absl::StatusOr<uint32_t> ParseFileMode(absl::string_view text) {
  bool ok = text.size() >= 3 && text.size() <= 4;
  uint32_t mode = 0;
  for (char c : text) {
    ok = ok && c >= '0' && c <= '7';
    mode = mode * 8 + static_cast<uint32_t>(c - '0');
  }
  if (!ok) {
    return Invalid(absl::StrCat(Quote(text), " must be an octal mode of 3-4 digits, quoted (\"0640\")"));
  }
  if (mode > 0777) {
    return Invalid(absl::StrCat(Quote(text), ": setuid, setgid and sticky bits are not allowed"));
  }
  return mode;
}

absl::StatusOr<uint32_t> ParseDurationMs(absl::string_view text) {
  constexpr uint64_t kMaxMs = 24ull * 3600 * 1000;
  const auto bad = [&] {
    return Invalid(absl::StrCat(Quote(text), " is not a duration like \"10s\", \"2m\" or \"1m30s\" (units ms, s, m, h)"));
  };
  if (text.empty()) return bad();
  uint64_t total = 0;
  size_t i = 0;
  while (i < text.size()) {
    const size_t digits_start = i;
    while (i < text.size() && absl::ascii_isdigit(text[i])) ++i;
    if (i == digits_start || i - digits_start > 9) return bad();
    uint64_t value = 0;
    if (!absl::SimpleAtoi(text.substr(digits_start, i - digits_start), &value)) return bad();
    uint64_t unit = 0;
    if (text.substr(i, 2) == "ms") {
      unit = 1;
      i += 2;
    } else if (i < text.size() && text[i] == 's') {
      unit = 1000;
      ++i;
    } else if (i < text.size() && text[i] == 'm') {
      unit = 60 * 1000;
      ++i;
    } else if (i < text.size() && text[i] == 'h') {
      unit = 3600 * 1000;
      ++i;
    } else {
      return bad();
    }
    total += value * unit;
    if (total > kMaxMs) return Invalid(absl::StrCat(Quote(text), " is longer than 24h"));
  }
  return static_cast<uint32_t>(total);
}

std::string FormatDurationMs(uint32_t ms) {
  if (ms == 0) return "0s";
  std::string out;
  const uint32_t parts[] = {3600000, 60000, 1000, 1};
  const char* units[] = {"h", "m", "s", "ms"};
  for (int i = 0; i < 4; ++i) {
    if (ms >= parts[i]) {
      absl::StrAppend(&out, ms / parts[i], units[i]);
      ms %= parts[i];
    }
  }
  return out;
}

absl::StatusOr<v1::WaveSize> ParseWaveSize(absl::string_view text, bool allow_count) {
  v1::WaveSize size;
  uint32_t value = 0;
  if (absl::EndsWith(text, "%")) {
    if (!absl::SimpleAtoi(text.substr(0, text.size() - 1), &value) || value > 100 ||
        !absl::ascii_isdigit(text[0])) {
      return Invalid(absl::StrCat(Quote(text), " must be a percentage from 0% to 100%"));
    }
    size.set_percent(value);
    return size;
  }
  if (allow_count && !text.empty() && absl::ascii_isdigit(text[0]) &&
      absl::SimpleAtoi(text, &value) && value >= 1) {
    size.set_count(value);
    return size;
  }
  return Invalid(absl::StrCat(Quote(text), allow_count
                                               ? " must be a percentage (\"25%\") or a host count (\"2\")"
                                               : " must be a percentage (\"10%\")"));
}

std::string FormatWaveSize(const v1::WaveSize& size) {
  if (size.has_count()) return absl::StrCat(size.count());
  return absl::StrCat(size.percent(), "%");
}

namespace {
absl::Status ValidateLabelPart(absl::string_view text, bool is_key) {
  const char* what = is_key ? "label key" : "label value";
  if (text.empty() || text.size() > 63) {
    return Invalid(absl::StrCat(what, " ", Quote(text), " must be 1-63 characters"));
  }
  bool ok = absl::ascii_isalnum(text[0]);
  for (char c : text) {
    ok = ok && (absl::ascii_isalnum(c) || c == '.' || c == '_' || c == '-' || (is_key && c == '/'));
  }
  if (!ok) {
    return Invalid(absl::StrCat(what, " ", Quote(text), " must start with a letter or digit and contain only [A-Za-z0-9._-]",
                                is_key ? " and '/'" : ""));
  }
  return absl::OkStatus();
}
}  // namespace

absl::Status ValidateLabelKey(absl::string_view key) { return ValidateLabelPart(key, true); }
absl::Status ValidateLabelValue(absl::string_view value) { return ValidateLabelPart(value, false); }

absl::Status ValidateAbsolutePath(absl::string_view path) {
  if (path.empty() || path[0] != '/') {
    return Invalid(absl::StrCat(Quote(path), " must be an absolute path"));
  }
  if (HasControl(path) || absl::StrContains(path, " ") || absl::StrContains(path, "%") ||
      absl::StrContains(path, "\"") || absl::StrContains(path, "\\")) {
    return Invalid(absl::StrCat(Quote(path), " must not contain whitespace, control characters, '%', '\"' or '\\'"));
  }
  if (path.size() > 1 && path.back() == '/') {
    return Invalid(absl::StrCat(Quote(path), " must not end with '/'"));
  }
  for (absl::string_view part : absl::StrSplit(path.substr(1), '/')) {
    if (part.empty() || part == "." || part == "..") {
      return Invalid(absl::StrCat(Quote(path), " must be normalized (no \"..\", \".\" or \"//\")"));
    }
  }
  if (path.size() > 1024) return Invalid("path is longer than 1024 characters");
  return absl::OkStatus();
}

absl::Status ValidateHealthUrl(absl::string_view url) {
  // The agent checks health from the host itself, so plain http suffices
  // and a TLS client (with its certificate questions) stays out of it.
  if (!absl::StartsWith(url, "http://")) {
    return Invalid(absl::StrCat(QuoteUrl(url), " must be an http:// URL (checked from the host itself)"));
  }
  const absl::string_view rest = url.substr(7);
  if (rest.empty() || rest[0] == '/' || HasControl(url) || absl::StrContains(url, " ")) {
    return Invalid(absl::StrCat(QuoteUrl(url), " needs a host and no whitespace"));
  }
  return absl::OkStatus();
}

absl::Status ValidateSshKey(absl::string_view key) {
  const absl::string_view trimmed = absl::StripAsciiWhitespace(key);
  if (!absl::StartsWith(trimmed, "-----BEGIN ") || !absl::StrContains(trimmed, "PRIVATE KEY-----") ||
      !absl::StrContains(trimmed, "-----END ")) {
    // Never echo the value: it may be a (mangled) secret.
    return Invalid("must be a PEM or OpenSSH private key (\"-----BEGIN ... PRIVATE KEY-----\")");
  }
  return absl::OkStatus();
}

}  // namespace pyservice::spec
