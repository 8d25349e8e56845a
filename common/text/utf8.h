// Text from outside (an app's log lines, a peer's strings) made valid UTF-8
// before it goes into a protobuf string, a terminal, JSON or YAML.
#ifndef PYSERVICE_COMMON_TEXT_UTF8_H_
#define PYSERVICE_COMMON_TEXT_UTF8_H_

#include <cstddef>
#include <string>

#include "absl/strings/string_view.h"

namespace pyservice::text {

// Length of the valid UTF-8 sequence at the start of `text`, or 0 if it is
// not one (overlong forms, surrogates and code points past U+10FFFF are
// invalid, as RFC 3629 says).
size_t ValidUtf8SequenceLength(absl::string_view text);

// `text` with every byte sequence that is not valid UTF-8 replaced by
// U+FFFD: what a terminal, a JSON parser, a YAML parser and protobuf
// accept.
std::string ToValidUtf8(absl::string_view text);

}  // namespace pyservice::text

#endif  // PYSERVICE_COMMON_TEXT_UTF8_H_
