// Where an unterminated quoted string or an unclosed flow collection starts.
// yaml-cpp reports these where it gave up — the end of the file, far from
// the mistake — so the parser asks this scan for the place to point at.
#ifndef PYSERVICE_COMMON_SPEC_UNCLOSED_CONSTRUCT_H_
#define PYSERVICE_COMMON_SPEC_UNCLOSED_CONSTRUCT_H_

#include <optional>
#include <string>

#include "absl/strings/string_view.h"
#include "yaml-cpp/mark.h"

namespace pyservice::spec {

struct UnclosedConstruct {
  YAML::Mark mark;  // of the opening quote, '[' or '{' (0-based, like yaml-cpp's)
  std::string what;  // e.g. `the double-quoted string opened here is never closed`
  // A quoted string (else a bracket). yaml-cpp 0.7 accepts a quoted string
  // left open at the end of a file that ends in a newline, swallowing the
  // rest of the file into it, so these are looked for in every document.
  bool quoted = false;
};

// A light scan of YAML text (comments, quoting rules, block scalars, flow
// nesting; not a parser): the first quote that opens a scalar and is never
// closed, else the innermost '[' or '{' that is never closed (or is closed
// by the wrong bracket). nullopt when every construct is closed.
std::optional<UnclosedConstruct> FindUnclosedConstruct(absl::string_view text);

}  // namespace pyservice::spec

#endif  // PYSERVICE_COMMON_SPEC_UNCLOSED_CONSTRUCT_H_
