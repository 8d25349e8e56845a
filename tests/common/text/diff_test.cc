#include "common/text/diff.h"

#include <algorithm>
#include <iterator>
#include <random>
#include <string>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/strings/match.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_replace.h"
#include "absl/strings/str_split.h"
#include "absl/strings/string_view.h"
#include "absl/strings/strip.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"

namespace pyservice::text {
namespace {

using ::testing::StartsWith;

// "PREFIX1\nPREFIX2\n...PREFIXn\n".
std::string NumberedLines(absl::string_view prefix, int n) {
  std::string text;
  for (int i = 1; i <= n; ++i) absl::StrAppend(&text, prefix, i, "\n");
  return text;
}

// Splits a text whose lines all end in '\n' ("" is no lines).
std::vector<std::string> SplitLines(absl::string_view text) {
  std::vector<std::string> lines = absl::StrSplit(text, '\n');
  if (!lines.empty() && lines.back().empty()) lines.pop_back();
  return lines;
}

std::string JoinLines(const std::vector<std::string>& lines) {
  std::string text;
  for (const std::string& line : lines) absl::StrAppend(&text, line, "\n");
  return text;
}

// --- A strict patch applier: the oracle for the property test -----------

struct Range {
  int start = 0;  // as written in the header
  int count = 1;  // "-5" means "-5,1"
};

// "5" or "5,3".
bool ParseRange(absl::string_view text, Range& range) {
  const std::vector<absl::string_view> parts = absl::StrSplit(text, ',');
  if (parts.size() > 2 || !absl::SimpleAtoi(parts[0], &range.start)) return false;
  range.count = 1;
  return parts.size() == 1 || absl::SimpleAtoi(parts[1], &range.count);
}

struct PatchStats {
  int hunks = 0;
  int deleted = 0;
  int inserted = 0;
};

// Applies a unified diff to `old_text`. Checks everything a strict `patch`
// would: the headers, that hunks come in order without overlapping, that each
// header's counts and starts match its body, that context and deleted lines
// match the old text, and that no hunk has more than 3 lines of context at
// either end or no change at all.
absl::StatusOr<std::string> ApplyPatch(absl::string_view old_text, absl::string_view diff,
                                       PatchStats* stats = nullptr) {
  const std::vector<std::string> old_lines = SplitLines(old_text);
  const std::vector<std::string> diff_lines = SplitLines(diff);
  if (diff.empty()) return std::string(old_text);
  if (diff.back() != '\n') return absl::InvalidArgumentError("diff does not end in a newline");
  if (diff_lines.size() < 3 || diff_lines[0] != "--- a" || diff_lines[1] != "+++ b") {
    return absl::InvalidArgumentError("bad headers");
  }
  std::vector<std::string> out;
  size_t old_pos = 0;  // next old line to copy
  size_t i = 2;
  PatchStats local;
  while (i < diff_lines.size()) {
    std::vector<absl::string_view> header = absl::StrSplit(diff_lines[i], ' ');
    Range old_range, new_range;
    if (header.size() != 4 || header[0] != "@@" || header[3] != "@@" ||
        !absl::ConsumePrefix(&header[1], "-") || !absl::ConsumePrefix(&header[2], "+") ||
        !ParseRange(header[1], old_range) || !ParseRange(header[2], new_range)) {
      return absl::InvalidArgumentError(absl::StrCat("bad hunk header: ", diff_lines[i]));
    }
    ++i;
    ++local.hunks;
    // An empty range names the line before it; otherwise lines count from 1.
    const int old_first = old_range.count == 0 ? old_range.start : old_range.start - 1;
    const int new_first = new_range.count == 0 ? new_range.start : new_range.start - 1;
    if (old_first < static_cast<int>(old_pos)) {
      return absl::InvalidArgumentError(absl::StrCat("hunk overlaps or goes back: ",
                                                     diff_lines[i - 1]));
    }
    if (old_first > static_cast<int>(old_lines.size())) {
      return absl::InvalidArgumentError("hunk starts past the end of the old text");
    }
    while (static_cast<int>(old_pos) < old_first) out.push_back(old_lines[old_pos++]);
    if (static_cast<int>(out.size()) != new_first) {
      return absl::InvalidArgumentError(absl::StrCat("new start ", new_range.start,
                                                     " does not match: ", out.size()));
    }
    int old_seen = 0, new_seen = 0, leading_context = 0, trailing_context = 0;
    bool changed = false;
    while (i < diff_lines.size() && !absl::StartsWith(diff_lines[i], "@@")) {
      const std::string& line = diff_lines[i++];
      if (line.empty()) return absl::InvalidArgumentError("empty line in hunk body");
      const absl::string_view content = absl::string_view(line).substr(1);
      switch (line[0]) {
        case ' ':
        case '-':
          if (old_pos >= old_lines.size() || old_lines[old_pos] != content) {
            return absl::InvalidArgumentError(
                absl::StrCat("line does not match the old text: ", line));
          }
          ++old_pos;
          ++old_seen;
          if (line[0] == ' ') {
            out.emplace_back(content);
            ++new_seen;
            ++(changed ? trailing_context : leading_context);
          } else {
            changed = true;
            trailing_context = 0;
            ++local.deleted;
          }
          break;
        case '+':
          out.emplace_back(content);
          ++new_seen;
          changed = true;
          trailing_context = 0;
          ++local.inserted;
          break;
        default:
          return absl::InvalidArgumentError(absl::StrCat("bad hunk line: ", line));
      }
    }
    if (old_seen != old_range.count || new_seen != new_range.count) {
      return absl::InvalidArgumentError(absl::StrCat("hunk counts do not match its body: -",
                                                     old_seen, " +", new_seen));
    }
    if (!changed) return absl::InvalidArgumentError("hunk without a change");
    if (leading_context > 3 || trailing_context > 3) {
      return absl::InvalidArgumentError("more than 3 lines of context");
    }
  }
  if (local.hunks == 0) return absl::InvalidArgumentError("no hunks");
  while (old_pos < old_lines.size()) out.push_back(old_lines[old_pos++]);
  if (stats != nullptr) *stats = local;
  return JoinLines(out);
}

// Length of the longest common subsequence of lines, by dynamic programming:
// a shortest edit script deletes and inserts exactly n + m - 2 * LCS lines.
int LongestCommonSubsequence(const std::vector<std::string>& a,
                             const std::vector<std::string>& b) {
  std::vector<std::vector<int>> lcs(a.size() + 1, std::vector<int>(b.size() + 1, 0));
  for (size_t i = 1; i <= a.size(); ++i) {
    for (size_t j = 1; j <= b.size(); ++j) {
      lcs[i][j] = a[i - 1] == b[j - 1] ? lcs[i - 1][j - 1] + 1
                                       : std::max(lcs[i - 1][j], lcs[i][j - 1]);
    }
  }
  return lcs[a.size()][b.size()];
}

// --- Exact outputs --------------------------------------------------------

TEST(UnifiedDiffTest, EqualTexts_GiveEmptyString) {
  EXPECT_EQ(UnifiedDiff("a\nb\nc\n", "a\nb\nc\n", "a", "b"), "");
}

TEST(UnifiedDiffTest, TwoEmptyTexts_GiveEmptyString) {
  EXPECT_EQ(UnifiedDiff("", "", "a", "b"), "");
}

TEST(UnifiedDiffTest, OneChangedLine_GivesHeadersRangesAndThreeContextLinesEachSide) {
  const std::string old_text = NumberedLines("line ", 10);
  std::string new_text = old_text;
  new_text.replace(new_text.find("line 5\n"), 7, "LINE FIVE\n");
  EXPECT_EQ(UnifiedDiff(old_text, new_text, "stored", "app.yaml"),
            "--- stored\n"
            "+++ app.yaml\n"
            "@@ -2,7 +2,7 @@\n"
            " line 2\n"
            " line 3\n"
            " line 4\n"
            "-line 5\n"
            "+LINE FIVE\n"
            " line 6\n"
            " line 7\n"
            " line 8\n");
}

TEST(UnifiedDiffTest, ChangeInTheFirstLine_ContextOnlyAfter) {
  EXPECT_EQ(UnifiedDiff("a\nb\nc\nd\ne\n", "A\nb\nc\nd\ne\n", "a", "b"),
            "--- a\n+++ b\n"
            "@@ -1,4 +1,4 @@\n"
            "-a\n+A\n b\n c\n d\n");
}

TEST(UnifiedDiffTest, InsertAtStart_HunkStartsAtLineOne) {
  EXPECT_EQ(UnifiedDiff("a\nb\nc\nd\ne\n", "new\na\nb\nc\nd\ne\n", "a", "b"),
            "--- a\n+++ b\n"
            "@@ -1,3 +1,4 @@\n"
            "+new\n a\n b\n c\n");
}

TEST(UnifiedDiffTest, InsertAtEnd_ContextOnlyBefore) {
  EXPECT_EQ(UnifiedDiff("a\nb\nc\nd\ne\n", "a\nb\nc\nd\ne\nf\n", "a", "b"),
            "--- a\n+++ b\n"
            "@@ -3,3 +3,4 @@\n"
            " c\n d\n e\n+f\n");
}

TEST(UnifiedDiffTest, InsertInTheMiddle_OldRangeCountsOnlyContext) {
  EXPECT_EQ(UnifiedDiff("a\nb\nc\nd\ne\nf\ng\nh\n", "a\nb\nc\nd\nX\ne\nf\ng\nh\n", "a", "b"),
            "--- a\n+++ b\n"
            "@@ -2,6 +2,7 @@\n"
            " b\n c\n d\n+X\n e\n f\n g\n");
}

TEST(UnifiedDiffTest, DeleteOneLine_NewRangeCountsOnlyContext) {
  EXPECT_EQ(UnifiedDiff("a\nb\nc\nd\ne\nf\ng\nh\n", "a\nb\nc\ne\nf\ng\nh\n", "a", "b"),
            "--- a\n+++ b\n"
            "@@ -1,7 +1,6 @@\n"
            " a\n b\n c\n-d\n e\n f\n g\n");
}

TEST(UnifiedDiffTest, DeleteAll_NewRangeIsZeroZero) {
  EXPECT_EQ(UnifiedDiff("a\nb\nc\n", "", "a", "b"),
            "--- a\n+++ b\n"
            "@@ -1,3 +0,0 @@\n"
            "-a\n-b\n-c\n");
}

TEST(UnifiedDiffTest, DeleteTheOnlyLine_OldRangeHasNoCount) {
  EXPECT_EQ(UnifiedDiff("a\n", "", "a", "b"),
            "--- a\n+++ b\n"
            "@@ -1 +0,0 @@\n"
            "-a\n");
}

TEST(UnifiedDiffTest, FromEmpty_IsANewFileDiff) {
  EXPECT_EQ(UnifiedDiff("", "a\nb\nc\n", "/dev/null", "app.yaml"),
            "--- /dev/null\n+++ app.yaml\n"
            "@@ -0,0 +1,3 @@\n"
            "+a\n+b\n+c\n");
}

TEST(UnifiedDiffTest, EmptyLines_AreDiffedAsLines) {
  EXPECT_EQ(UnifiedDiff("a\n\nb\n", "a\nb\n", "a", "b"),
            "--- a\n+++ b\n"
            "@@ -1,3 +1,2 @@\n"
            " a\n-\n b\n");
}

TEST(UnifiedDiffTest, TwoDistantChanges_GiveTwoHunks) {
  const std::string old_text = NumberedLines("l", 20);
  std::string new_text = old_text;
  new_text.replace(new_text.find("l2\n"), 3, "L2\n");
  new_text.replace(new_text.find("l18\n"), 4, "L18\n");
  EXPECT_EQ(UnifiedDiff(old_text, new_text, "a", "b"),
            "--- a\n+++ b\n"
            "@@ -1,5 +1,5 @@\n"
            " l1\n-l2\n+L2\n l3\n l4\n l5\n"
            "@@ -15,6 +15,6 @@\n"
            " l15\n l16\n l17\n-l18\n+L18\n l19\n l20\n");
}

TEST(UnifiedDiffTest, ChangesSixLinesApart_ShareOneHunk) {
  // Six unchanged lines between: the 3 + 3 context lines meet.
  const std::string old_text = NumberedLines("l", 20);
  std::string new_text = old_text;
  new_text.replace(new_text.find("l5\n"), 3, "L5\n");
  new_text.replace(new_text.find("l12\n"), 4, "L12\n");
  EXPECT_EQ(UnifiedDiff(old_text, new_text, "a", "b"),
            "--- a\n+++ b\n"
            "@@ -2,14 +2,14 @@\n"
            " l2\n l3\n l4\n-l5\n+L5\n l6\n l7\n l8\n l9\n l10\n l11\n-l12\n+L12\n"
            " l13\n l14\n l15\n");
}

TEST(UnifiedDiffTest, ChangesSevenLinesApart_GiveTwoHunks) {
  const std::string old_text = NumberedLines("l", 20);
  std::string new_text = old_text;
  new_text.replace(new_text.find("l5\n"), 3, "L5\n");
  new_text.replace(new_text.find("l13\n"), 4, "L13\n");
  EXPECT_EQ(UnifiedDiff(old_text, new_text, "a", "b"),
            "--- a\n+++ b\n"
            "@@ -2,7 +2,7 @@\n"
            " l2\n l3\n l4\n-l5\n+L5\n l6\n l7\n l8\n"
            "@@ -10,7 +10,7 @@\n"
            " l10\n l11\n l12\n-l13\n+L13\n l14\n l15\n l16\n");
}

TEST(UnifiedDiffTest, AdjacentChangedLines_ShareOneHunk) {
  EXPECT_EQ(UnifiedDiff("a\nb\nc\nd\n", "a\nB\nC\nd\n", "a", "b"),
            "--- a\n+++ b\n"
            "@@ -1,4 +1,4 @@\n"
            " a\n-b\n-c\n+B\n+C\n d\n");
}

TEST(UnifiedDiffTest, LargeTextWithOneChange_GivesOneSmallHunk) {
  const std::string old_text = NumberedLines("line ", 5000);
  std::string new_text = old_text;
  new_text.replace(new_text.find("line 2500\n"), 10, "line 2500 changed\n");
  const std::string diff = UnifiedDiff(old_text, new_text, "a", "b");
  EXPECT_EQ(diff,
            "--- a\n+++ b\n"
            "@@ -2497,7 +2497,7 @@\n"
            " line 2497\n line 2498\n line 2499\n"
            "-line 2500\n+line 2500 changed\n"
            " line 2501\n line 2502\n line 2503\n");
  EXPECT_LT(diff.size(), 200u);
}

TEST(UnifiedDiffTest, LargeTextWithInsertAtBothEnds_GivesTwoSmallHunks) {
  const std::string old_text = NumberedLines("line ", 5000);
  const std::string new_text = "first\n" + old_text + "last\n";
  const std::string diff = UnifiedDiff(old_text, new_text, "a", "b");
  EXPECT_EQ(diff,
            "--- a\n+++ b\n"
            "@@ -1,3 +1,4 @@\n"
            "+first\n line 1\n line 2\n line 3\n"
            "@@ -4998,3 +4999,4 @@\n"
            " line 4998\n line 4999\n line 5000\n+last\n");
}

TEST(UnifiedDiffTest, TextsBeyondTheEditDistanceLimit_StillGiveAnApplicableDiff) {
  // 2,200 changed lines exceed the 2,000 the search explores: the diff falls
  // back to replacing everything, which must still be a correct diff.
  const std::string old_text = NumberedLines("old ", 1100);
  const std::string new_text = NumberedLines("new ", 1100);
  const std::string diff = UnifiedDiff(old_text, new_text, "a", "b");
  EXPECT_THAT(diff, StartsWith("--- a\n+++ b\n@@ -1,1100 +1,1100 @@\n-old 1\n"));
  PatchStats stats;
  absl::StatusOr<std::string> applied = ApplyPatch(old_text, diff, &stats);
  ASSERT_TRUE(applied.ok()) << applied.status();
  EXPECT_EQ(*applied, new_text);
  EXPECT_EQ(stats.deleted, 1100);
  EXPECT_EQ(stats.inserted, 1100);
}

TEST(UnifiedDiffTest, Labels_AreUsedVerbatimInTheHeaders) {
  EXPECT_THAT(UnifiedDiff("a\n", "b\n", "hello (revision 3)", "hello (app.yaml)"),
              StartsWith("--- hello (revision 3)\n+++ hello (app.yaml)\n@@ "));
}

// --- Property: the diff applies and is minimal ----------------------------

// A small text over a tiny alphabet, so that lines repeat and the diff has
// real choices to make. Empty lines included.
std::vector<std::string> RandomLines(std::mt19937& rng, int max_lines) {
  static constexpr const char* kAlphabet[] = {"a", "b", "c", "d", "", "a b"};
  std::uniform_int_distribution<int> length(0, max_lines);
  std::uniform_int_distribution<int> pick(0, std::size(kAlphabet) - 1);
  std::vector<std::string> lines(length(rng));
  for (std::string& line : lines) line = kAlphabet[pick(rng)];
  return lines;
}

// `lines` with a few random insertions, deletions and replacements.
std::vector<std::string> Mutate(std::mt19937& rng, std::vector<std::string> lines) {
  std::uniform_int_distribution<int> edits(1, 4);
  for (int n = edits(rng); n > 0; --n) {
    const int op = std::uniform_int_distribution<int>(0, 2)(rng);
    const int at = std::uniform_int_distribution<int>(0, static_cast<int>(lines.size()))(rng);
    const std::string line = absl::StrCat("x", std::uniform_int_distribution<int>(0, 3)(rng));
    if (op == 0 || lines.empty()) {
      lines.insert(lines.begin() + at, line);
    } else if (at < static_cast<int>(lines.size())) {
      if (op == 1) {
        lines.erase(lines.begin() + at);
      } else {
        lines[at] = line;
      }
    }
  }
  return lines;
}

TEST(UnifiedDiffPropertyTest, RandomPairs_DiffAppliesToOldTextGivesNewTextWithMinimalEdits) {
  std::mt19937 rng(20240611);
  int nonempty_diffs = 0;
  int multi_hunk_diffs = 0;
  for (int round = 0; round < 600; ++round) {
    const std::vector<std::string> old_lines = RandomLines(rng, 30);
    // Half unrelated texts, half small edits of the old one (long runs of
    // context, several hunks).
    const std::vector<std::string> new_lines =
        round % 2 == 0 ? RandomLines(rng, 30) : Mutate(rng, old_lines);
    const std::string old_text = JoinLines(old_lines);
    const std::string new_text = JoinLines(new_lines);
    SCOPED_TRACE(absl::StrCat("round ", round, "\nold:\n", old_text, "new:\n", new_text));

    const std::string diff = UnifiedDiff(old_text, new_text, "a", "b");
    if (old_text == new_text) {
      EXPECT_EQ(diff, "");
      continue;
    }
    ++nonempty_diffs;
    PatchStats stats;
    const absl::StatusOr<std::string> applied = ApplyPatch(old_text, diff, &stats);
    ASSERT_TRUE(applied.ok()) << applied.status() << "\ndiff:\n" << diff;
    ASSERT_EQ(*applied, new_text) << "diff:\n" << diff;
    // Myers finds a shortest edit script.
    const int lcs = LongestCommonSubsequence(old_lines, new_lines);
    EXPECT_EQ(stats.deleted, static_cast<int>(old_lines.size()) - lcs) << diff;
    EXPECT_EQ(stats.inserted, static_cast<int>(new_lines.size()) - lcs) << diff;
    if (stats.hunks > 1) ++multi_hunk_diffs;
  }
  // The generator must exercise what it is meant to.
  EXPECT_GT(nonempty_diffs, 500);
  EXPECT_GT(multi_hunk_diffs, 20);
}

// The oracle itself must refuse wrong diffs, or the property proves nothing.
TEST(ApplyPatchOracleTest, RefusesADiffWhoseContextDoesNotMatch) {
  const std::string diff = UnifiedDiff("a\nb\nc\n", "a\nB\nc\n", "a", "b");
  ASSERT_TRUE(ApplyPatch("a\nb\nc\n", diff).ok());
  EXPECT_FALSE(ApplyPatch("z\nb\nc\n", diff).ok());
  EXPECT_FALSE(ApplyPatch("a\nb\nc\n", absl::StrReplaceAll(diff, {{"-1,3", "-1,2"}})).ok());
  EXPECT_FALSE(ApplyPatch("a\nb\nc\n", absl::StrReplaceAll(diff, {{"+1,3", "+2,3"}})).ok());
}

}  // namespace
}  // namespace pyservice::text
