// Line diffs for showing what an apply changes.
#ifndef PYSERVICE_COMMON_TEXT_DIFF_H_
#define PYSERVICE_COMMON_TEXT_DIFF_H_

#include <string>
#include "absl/strings/string_view.h"

namespace pyservice::text {

// A unified diff ("--- a", "+++ b", "@@ -l,n +l,n @@" hunks, 3 lines of
// context) of two texts, or "" when they are equal. Uses Myers' O(ND)
// algorithm, so a small change to a large text stays cheap.
std::string UnifiedDiff(absl::string_view old_text, absl::string_view new_text,
                        absl::string_view old_label, absl::string_view new_label);

}  // namespace pyservice::text

#endif  // PYSERVICE_COMMON_TEXT_DIFF_H_
