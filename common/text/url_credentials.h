// Credentials written into repo URLs ("https://user:token@git.example/x.git",
// "https://token@git.example/x.git") are secrets like ssh keys: every log
// line, error message and displayed spec shows the URL through
// RedactUrlCredentials, never as written.
#ifndef PYSERVICE_COMMON_TEXT_URL_CREDENTIALS_H_
#define PYSERVICE_COMMON_TEXT_URL_CREDENTIALS_H_

#include <string>

#include "absl/strings/string_view.h"

namespace pyservice::text {

// The secret part of `url`'s credentials, empty when it has none:
//  * for https:// (and any other "scheme://" except ssh) the whole userinfo
//    before '@' ("user:token", or "token": hosts take tokens as the user);
//  * for ssh:// only a password after "user:" (the user names the account
//    the deploy key logs in to; it proves nothing);
//  * scp-like "git@host:org/x.git" and paths: none.
absl::string_view UrlCredentials(absl::string_view url);

// `url` with UrlCredentials(url) replaced by "***":
// "https://***@git.example/x.git", "ssh://git:***@host/x.git".
std::string RedactUrlCredentials(absl::string_view url);

// `text` (e.g. a libgit2 error, which may quote the URL it was given) with
// every occurrence of `url`'s credentials replaced by "***".
std::string RedactUrlCredentialsIn(absl::string_view text, absl::string_view url);

}  // namespace pyservice::text

#endif  // PYSERVICE_COMMON_TEXT_URL_CREDENTIALS_H_
