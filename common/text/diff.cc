#include "common/text/diff.h"

#include <algorithm>
#include <vector>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_split.h"

namespace pyservice::text {
namespace {

constexpr int kContext = 3;
// Beyond this many changed lines the diff is shown as "all old lines out, all
// new lines in": the trace costs O(D * (N + M)) memory, and such a diff is
// not read line by line anyway.
constexpr int kMaxEditDistance = 2000;

enum class Op { kKeep, kDelete, kInsert };

struct Edit {
  Op op;
  int old_line;  // index into the old lines (kKeep, kDelete)
  int new_line;  // index into the new lines (kKeep, kInsert)
};

std::vector<absl::string_view> Lines(absl::string_view text) {
  std::vector<absl::string_view> lines = absl::StrSplit(text, '\n');
  if (!lines.empty() && lines.back().empty()) lines.pop_back();  // final newline
  return lines;
}

// Myers, "An O(ND) Difference Algorithm and Its Variations" (1986): the
// greedy forward search, keeping each round's furthest-reaching paths so the
// edit script can be walked back from the end.
std::vector<Edit> ShortestEditScript(const std::vector<absl::string_view>& a,
                                     const std::vector<absl::string_view>& b) {
  const int n = static_cast<int>(a.size());
  const int m = static_cast<int>(b.size());
  const int max = n + m;
  const int offset = max + 1;
  std::vector<int> v(2 * max + 3, 0);
  std::vector<std::vector<int>> trace;
  bool found = false;
  for (int d = 0; d <= max && d <= kMaxEditDistance; ++d) {
    trace.push_back(v);
    bool done = false;
    for (int k = -d; k <= d; k += 2) {
      int x = (k == -d || (k != d && v[offset + k - 1] < v[offset + k + 1]))
                  ? v[offset + k + 1]
                  : v[offset + k - 1] + 1;
      int y = x - k;
      while (x < n && y < m && a[x] == b[y]) {
        ++x;
        ++y;
      }
      v[offset + k] = x;
      if (x >= n && y >= m) {
        done = true;
        break;
      }
    }
    if (done) {
      trace.push_back(v);
      found = true;
      break;
    }
  }
  if (!found) {
    std::vector<Edit> replace_all;
    for (int i = 0; i < n; ++i) replace_all.push_back({Op::kDelete, i, 0});
    for (int j = 0; j < m; ++j) replace_all.push_back({Op::kInsert, n, j});
    return replace_all;
  }
  // Walk back through the rounds, from (n, m) to (0, 0).
  std::vector<Edit> edits;
  int x = n;
  int y = m;
  for (int d = static_cast<int>(trace.size()) - 2; d >= 0; --d) {
    const std::vector<int>& prev = trace[d];
    const int k = x - y;
    const int prev_k = (k == -d || (k != d && prev[offset + k - 1] < prev[offset + k + 1]))
                           ? k + 1
                           : k - 1;
    const int prev_x = prev[offset + prev_k];
    const int prev_y = prev_x - prev_k;
    while (x > prev_x && y > prev_y) {
      edits.push_back({Op::kKeep, --x, --y});
    }
    if (d > 0) {
      if (x == prev_x) {
        edits.push_back({Op::kInsert, x, --y});
      } else {
        edits.push_back({Op::kDelete, --x, y});
      }
    }
  }
  std::reverse(edits.begin(), edits.end());
  return edits;
}

std::string HunkRange(int start, int count) {
  // Unified diff numbers lines from 1; an empty range names the line before.
  return count == 1 ? absl::StrCat(start + 1) : absl::StrCat(count == 0 ? start : start + 1, ",", count);
}

}  // namespace

std::string UnifiedDiff(absl::string_view old_text, absl::string_view new_text,
                        absl::string_view old_label, absl::string_view new_label) {
  if (old_text == new_text) return "";
  const std::vector<absl::string_view> a = Lines(old_text);
  const std::vector<absl::string_view> b = Lines(new_text);
  const std::vector<Edit> edits = ShortestEditScript(a, b);

  std::string out = absl::StrCat("--- ", old_label, "\n+++ ", new_label, "\n");
  const int count = static_cast<int>(edits.size());
  int i = 0;
  while (i < count) {
    // Find the next change, then extend the hunk while changes are within
    // 2 * kContext lines of each other.
    while (i < count && edits[i].op == Op::kKeep) ++i;
    if (i == count) break;
    const int start = std::max(0, i - kContext);
    int end = i;
    int last_change = i;
    while (end < count) {
      if (edits[end].op != Op::kKeep) last_change = end;
      if (end - last_change > 2 * kContext) break;
      ++end;
    }
    end = std::min(count, last_change + kContext + 1);

    int old_start = -1, new_start = -1, old_count = 0, new_count = 0;
    std::string body;
    for (int j = start; j < end; ++j) {
      const Edit& e = edits[j];
      switch (e.op) {
        case Op::kKeep:
          absl::StrAppend(&body, " ", a[e.old_line], "\n");
          ++old_count;
          ++new_count;
          break;
        case Op::kDelete:
          absl::StrAppend(&body, "-", a[e.old_line], "\n");
          ++old_count;
          break;
        case Op::kInsert:
          absl::StrAppend(&body, "+", b[e.new_line], "\n");
          ++new_count;
          break;
      }
      if (old_start < 0) {
        old_start = e.old_line;
        new_start = e.new_line;
      }
    }
    absl::StrAppend(&out, "@@ -", HunkRange(old_start, old_count), " +",
                    HunkRange(new_start, new_count), " @@\n", body);
    i = end;
  }
  return out;
}

}  // namespace pyservice::text
