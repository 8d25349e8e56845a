// What pyctl prints, built once and emitted in the format the operator
// asked for (-o json|yaml). A tiny value tree -- null, bool, integer,
// string, list, map -- whose maps keep insertion order, so the JSON field
// order is the one INTERFACES.md documents rather than alphabetical.
#ifndef PYSERVICE_CLI_OUTPUT_DOCUMENT_H_
#define PYSERVICE_CLI_OUTPUT_DOCUMENT_H_

#include <cstdint>
#include <string>
#include <utility>
#include <vector>

#include "absl/strings/string_view.h"

namespace pyservice::cli {

class Document {
 public:
  enum class Kind { kNull, kBool, kInt, kString, kList, kMap };

  // Null.
  Document() = default;
  static Document Bool(bool value);
  static Document Int(int64_t value);
  static Document String(std::string value);
  static Document List();  // empty
  static Document Map();   // empty

  Kind kind() const { return kind_; }
  bool bool_value() const { return bool_; }
  int64_t int_value() const { return int_; }
  const std::string& string_value() const { return string_; }
  // kList: the items in order.
  const std::vector<Document>& items() const { return items_; }
  // kMap: the fields in insertion order.
  const std::vector<std::pair<std::string, Document>>& fields() const {
    return fields_;
  }

  // Appends to a list (a null becomes an empty list first). Returns *this.
  Document& Append(Document item);
  // Sets a map field (a null becomes an empty map first); an existing key
  // keeps its position. Returns *this, so a map reads like its JSON:
  //   Document::Map().Set("app", Document::String("hello"))
  Document& Set(absl::string_view key, Document value);
  // A map field, or nullptr.
  const Document* Find(absl::string_view key) const;

 private:
  Kind kind_ = Kind::kNull;
  bool bool_ = false;
  int64_t int_ = 0;
  std::string string_;
  std::vector<Document> items_;
  std::vector<std::pair<std::string, Document>> fields_;
};

// JSON (RFC 8259) indented by two spaces, no trailing newline. Strings are
// escaped so the output is valid for any input: quotes, backslashes and
// control characters, plus U+2028/U+2029; bytes that are not valid UTF-8
// become U+FFFD.
std::string ToJson(const Document& document);

// The same on one line, without spaces.
std::string ToCompactJson(const Document& document);

// YAML in block style, no trailing newline. Strings that a YAML reader
// would take for something else (true, 1.0, null, "") are quoted, and
// strings ending in a newline are literal blocks (|), so canonical specs
// stay readable.
std::string ToYaml(const Document& document);

}  // namespace pyservice::cli

#endif  // PYSERVICE_CLI_OUTPUT_DOCUMENT_H_
