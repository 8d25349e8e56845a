#include "cli/output/table.h"

#include <vector>

#include "gtest/gtest.h"

namespace pyservice::cli {
namespace {

TEST(TableTest, RenderTable_AlignsColumnsWithoutTrailingSpaces) {
  EXPECT_EQ(RenderTable({"NAME", "REVISION", "TAG"},
                        {{"hello", "2", "v2"}, {"a-much-longer-name", "10", ""}}),
            "NAME                 REVISION   TAG\n"
            "hello                2          v2\n"
            "a-much-longer-name   10\n");
}

TEST(TableTest, RenderTable_CountsCharactersNotBytes) {
  EXPECT_EQ(RenderTable({"A", "B"}, {{"caf\xC3\xA9", "x"}}),
            "A      B\n"
            "caf\xC3\xA9   x\n");
}

TEST(TableTest, RenderTable_ShortRowsGetEmptyCells) {
  EXPECT_EQ(RenderTable({"A", "B", "C"}, {{"1"}}), "A   B   C\n1\n");
}

TEST(TableTest, RenderTable_HeaderOnly) {
  EXPECT_EQ(RenderTable({"NAME", "TAG"}, {}), "NAME   TAG\n");
}

TEST(TableTest, RenderTable_FromFlatCellsAsFromRows) {
  const std::vector<absl::string_view> cells = {"hello", "2", "v2",
                                                "a-much-longer-name", "10", ""};
  EXPECT_EQ(RenderTableFromCells({"NAME", "REVISION", "TAG"}, cells),
            RenderTable({"NAME", "REVISION", "TAG"},
                        {{"hello", "2", "v2"}, {"a-much-longer-name", "10", ""}}));
}

TEST(TableTest, RenderTableFromCells_NoColumnsIsAnEmptyLine) {
  EXPECT_EQ(RenderTableFromCells({}, {}), "\n");
}

TEST(TableTest, RenderFields_AlignsValues) {
  EXPECT_EQ(RenderFields({{"Name", "hello"}, {"Revision", "2"}, {"Spec", ""}}),
            "Name:       hello\n"
            "Revision:   2\n"
            "Spec:\n");
}

TEST(TableTest, IndentLines_LeavesEmptyLinesEmpty) {
  EXPECT_EQ(IndentLines("a:\n  b: 1\n\nc: 2\n", 2), "  a:\n    b: 1\n\n  c: 2\n");
  EXPECT_EQ(IndentLines("no newline", 4), "    no newline\n");
  EXPECT_EQ(IndentLines("", 2), "\n");
}

TEST(TableTest, ColorizeDiff_ColorsChangedLinesOnly) {
  EXPECT_EQ(ColorizeDiff("--- a\n+++ b\n@@ -1 +1 @@\n ctx\n-old\n+new\n"),
            "\033[1m--- a\033[0m\n"
            "\033[1m+++ b\033[0m\n"
            "\033[36m@@ -1 +1 @@\033[0m\n"
            " ctx\n"
            "\033[31m-old\033[0m\n"
            "\033[32m+new\033[0m\n");
  EXPECT_EQ(ColorizeDiff("+x"), "\033[32m+x\033[0m");
}

}  // namespace
}  // namespace pyservice::cli
