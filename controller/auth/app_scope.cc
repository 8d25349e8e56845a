#include "controller/auth/app_scope.h"

#include "absl/strings/str_cat.h"

namespace pyservice::controller::auth {

namespace {

// Iterative glob with backtracking to the last '*': linear enough for
// 32-character names, and no recursion on hostile patterns.
bool GlobMatch(absl::string_view pattern, absl::string_view text) {
  size_t p = 0, t = 0, star = absl::string_view::npos, resume = 0;
  while (t < text.size()) {
    if (p < pattern.size() && pattern[p] == '*') {
      star = p++;
      resume = t;
    } else if (p < pattern.size() && pattern[p] == text[t]) {
      ++p;
      ++t;
    } else if (star != absl::string_view::npos) {
      p = star + 1;
      t = ++resume;
    } else {
      return false;
    }
  }
  while (p < pattern.size() && pattern[p] == '*') ++p;
  return p == pattern.size();
}

}  // namespace

bool InScope(const std::vector<std::string>& patterns, absl::string_view app) {
  if (patterns.empty()) return true;
  for (const std::string& pattern : patterns) {
    if (GlobMatch(pattern, app)) return true;
  }
  return false;
}

absl::Status ValidateAppPattern(absl::string_view pattern) {
  bool ok = !pattern.empty() && pattern.size() <= 32 &&
            ((pattern[0] >= 'a' && pattern[0] <= 'z') || pattern[0] == '*');
  for (const char c : pattern) {
    ok = ok && ((c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '-' || c == '*');
  }
  if (ok) return absl::OkStatus();
  return absl::InvalidArgumentError(absl::StrCat(
      "apps: \"", pattern, "\" must be an app name or a pattern with * ([a-z*][a-z0-9*-]*, "
      "at most 32 characters)"));
}

}  // namespace pyservice::controller::auth
