#include "common/text/url_credentials.h"

#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_replace.h"

namespace pyservice::text {

absl::string_view UrlCredentials(absl::string_view url) {
  const size_t scheme_end = url.find("://");
  if (scheme_end == url.npos) return {};  // scp-like or a path: no password
  const size_t authority_start = scheme_end + 3;
  // The authority ends at the path, query or fragment; an '@' after it is
  // part of the path.
  const size_t authority_end = std::min(url.find_first_of("/?#", authority_start), url.size());
  const absl::string_view authority = url.substr(authority_start, authority_end - authority_start);
  // The last '@': a password may contain an unescaped '@'.
  const size_t at = authority.rfind('@');
  if (at == authority.npos) return {};
  const absl::string_view userinfo = authority.substr(0, at);
  const absl::string_view scheme = url.substr(0, scheme_end);
  if (absl::EqualsIgnoreCase(scheme, "ssh") || absl::EqualsIgnoreCase(scheme, "git+ssh") ||
      absl::EqualsIgnoreCase(scheme, "ssh+git")) {
    const size_t colon = userinfo.find(':');
    return colon == userinfo.npos ? absl::string_view() : userinfo.substr(colon + 1);
  }
  return userinfo;
}

std::string RedactUrlCredentials(absl::string_view url) {
  const absl::string_view secret = UrlCredentials(url);
  if (secret.empty()) return std::string(url);
  const size_t start = static_cast<size_t>(secret.data() - url.data());
  return absl::StrCat(url.substr(0, start), "***", url.substr(start + secret.size()));
}

std::string RedactUrlCredentialsIn(absl::string_view text, absl::string_view url) {
  const absl::string_view secret = UrlCredentials(url);
  if (secret.empty()) return std::string(text);
  // Every occurrence, not only inside a copy of the URL: a message may quote
  // the credentials alone ("authentication failed for user:token").
  return absl::StrReplaceAll(text, {{secret, "***"}});
}

}  // namespace pyservice::text
