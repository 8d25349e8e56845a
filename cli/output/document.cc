#include "cli/output/document.h"

#include <cassert>

#include "absl/strings/ascii.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "common/text/utf8.h"
#include "yaml-cpp/yaml.h"

namespace pyservice::cli {
namespace {

void AppendJsonString(absl::string_view text, std::string& out) {
  out.push_back('"');
  size_t i = 0;
  while (i < text.size()) {
    const unsigned char c = static_cast<unsigned char>(text[i]);
    switch (c) {
      case '"': out += "\\\""; ++i; continue;
      case '\\': out += "\\\\"; ++i; continue;
      case '\b': out += "\\b"; ++i; continue;
      case '\f': out += "\\f"; ++i; continue;
      case '\n': out += "\\n"; ++i; continue;
      case '\r': out += "\\r"; ++i; continue;
      case '\t': out += "\\t"; ++i; continue;
      default: break;
    }
    if (c < 0x20 || c == 0x7F) {
      absl::StrAppendFormat(&out, "\\u%04x", c);
      ++i;
      continue;
    }
    const size_t length = text::ValidUtf8SequenceLength(text.substr(i));
    if (length == 0) {
      out += "\\ufffd";
      ++i;
      continue;
    }
    const absl::string_view sequence = text.substr(i, length);
    // Valid JSON, but they end a line in JavaScript source; escaped, the
    // output is safe to paste anywhere.
    if (sequence == "\xE2\x80\xA8") {
      out += "\\u2028";
    } else if (sequence == "\xE2\x80\xA9") {
      out += "\\u2029";
    } else {
      absl::StrAppend(&out, sequence);
    }
    i += length;
  }
  out.push_back('"');
}

void AppendJson(const Document& document, int indent, int depth,
                std::string& out) {
  const auto newline = [&](int level) {
    if (indent == 0) return;
    out.push_back('\n');
    out.append(static_cast<size_t>(indent * level), ' ');
  };
  switch (document.kind()) {
    case Document::Kind::kNull:
      out += "null";
      return;
    case Document::Kind::kBool:
      out += document.bool_value() ? "true" : "false";
      return;
    case Document::Kind::kInt:
      absl::StrAppend(&out, document.int_value());
      return;
    case Document::Kind::kString:
      AppendJsonString(document.string_value(), out);
      return;
    case Document::Kind::kList: {
      if (document.items().empty()) {
        out += "[]";
        return;
      }
      out.push_back('[');
      bool first = true;
      for (const Document& item : document.items()) {
        if (!first) out.push_back(',');
        first = false;
        newline(depth + 1);
        AppendJson(item, indent, depth + 1, out);
      }
      newline(depth);
      out.push_back(']');
      return;
    }
    case Document::Kind::kMap: {
      if (document.fields().empty()) {
        out += "{}";
        return;
      }
      out.push_back('{');
      bool first = true;
      for (const auto& [key, value] : document.fields()) {
        if (!first) out.push_back(',');
        first = false;
        newline(depth + 1);
        AppendJsonString(key, out);
        out += indent == 0 ? ":" : ": ";
        AppendJson(value, indent, depth + 1, out);
      }
      newline(depth);
      out.push_back('}');
      return;
    }
  }
}

// Would a YAML 1.1 or 1.2 reader resolve this plain scalar to something
// other than a string? yaml-cpp quotes only what would not parse at all, so
// a tag "1.0" or a name "yes" would otherwise come back as a float or bool.
bool ResolvesToNonString(absl::string_view text) {
  if (text.empty()) return true;
  const std::string lower = absl::AsciiStrToLower(text);
  for (const char* word : {"~", "null", "true", "false", "yes", "no", "on",
                           "off", "y", "n", ".inf", "-.inf", "+.inf", ".nan"}) {
    if (lower == word) return true;
  }
  // Anything number- or date-like: digits with signs, dots, exponents,
  // 0x/0o prefixes, underscores and colons (YAML 1.1 sexagesimal), and
  // timestamps ("2024-05-01T10:00:00Z"), which YAML 1.1 readers turn into
  // dates. Quoting a few strings too many costs nothing.
  const absl::string_view body =
      (text[0] == '-' || text[0] == '+') ? text.substr(1) : text;
  if (body.empty() || !(absl::ascii_isdigit(body[0]) || body[0] == '.')) {
    return false;
  }
  for (const char c : body) {
    if (!absl::ascii_isxdigit(c) && c != '.' && c != '_' && c != ':' &&
        c != 'x' && c != 'X' && c != 'o' && c != 'O' && c != '+' &&
        c != '-' && c != 'T' && c != 't' && c != 'Z' && c != 'z') {
      return false;
    }
  }
  return true;
}

// A literal block (|) keeps text as written only if it ends in exactly one
// newline (the default "clip" chomping), its first line does not start with
// a space (that would need an indentation indicator) and it has nothing a
// block scalar cannot hold.
bool FitsLiteralBlock(absl::string_view text) {
  if (text.size() < 2 || text.back() != '\n' || text[text.size() - 2] == '\n') {
    return false;
  }
  if (text[0] == ' ' || text[0] == '\t') return false;
  for (const char c : text) {
    const unsigned char u = static_cast<unsigned char>(c);
    if ((u < 0x20 && c != '\n' && c != '\t') || u == 0x7F) return false;
  }
  // Trailing spaces on a line would survive, but a line of only spaces
  // before the end is ambiguous to some readers; keep it simple.
  return text.find(" \n") == absl::string_view::npos;
}

void EmitYamlString(const std::string& raw, YAML::Emitter& out) {
  const std::string text = text::ToValidUtf8(raw);
  if (FitsLiteralBlock(text)) {
    // yaml-cpp writes the final newline itself under clip chomping.
    out << YAML::Literal << text.substr(0, text.size() - 1);
  } else if (ResolvesToNonString(text) ||
             text.find('\n') != std::string::npos) {
    out << YAML::DoubleQuoted << text;
  } else {
    out << text;
  }
}

void EmitYaml(const Document& document, YAML::Emitter& out) {
  switch (document.kind()) {
    case Document::Kind::kNull:
      out << YAML::Null;
      return;
    case Document::Kind::kBool:
      out << document.bool_value();
      return;
    case Document::Kind::kInt:
      out << document.int_value();
      return;
    case Document::Kind::kString:
      EmitYamlString(document.string_value(), out);
      return;
    case Document::Kind::kList:
      if (document.items().empty()) out << YAML::Flow;
      out << YAML::BeginSeq;
      for (const Document& item : document.items()) EmitYaml(item, out);
      out << YAML::EndSeq;
      return;
    case Document::Kind::kMap:
      if (document.fields().empty()) out << YAML::Flow;
      out << YAML::BeginMap;
      for (const auto& [key, value] : document.fields()) {
        out << YAML::Key;
        EmitYamlString(key, out);
        out << YAML::Value;
        EmitYaml(value, out);
      }
      out << YAML::EndMap;
      return;
  }
}

}  // namespace

Document Document::Bool(bool value) {
  Document document;
  document.kind_ = Kind::kBool;
  document.bool_ = value;
  return document;
}

Document Document::Int(int64_t value) {
  Document document;
  document.kind_ = Kind::kInt;
  document.int_ = value;
  return document;
}

Document Document::String(std::string value) {
  Document document;
  document.kind_ = Kind::kString;
  document.string_ = std::move(value);
  return document;
}

Document Document::List() {
  Document document;
  document.kind_ = Kind::kList;
  return document;
}

Document Document::Map() {
  Document document;
  document.kind_ = Kind::kMap;
  return document;
}

Document& Document::Append(Document item) {
  if (kind_ == Kind::kNull) kind_ = Kind::kList;
  assert(kind_ == Kind::kList);
  items_.push_back(std::move(item));
  return *this;
}

Document& Document::Set(absl::string_view key, Document value) {
  if (kind_ == Kind::kNull) kind_ = Kind::kMap;
  assert(kind_ == Kind::kMap);
  for (auto& [existing, field] : fields_) {
    if (existing == key) {
      field = std::move(value);
      return *this;
    }
  }
  fields_.emplace_back(std::string(key), std::move(value));
  return *this;
}

const Document* Document::Find(absl::string_view key) const {
  for (const auto& [existing, field] : fields_) {
    if (existing == key) return &field;
  }
  return nullptr;
}

std::string ToJson(const Document& document) {
  std::string out;
  AppendJson(document, /*indent=*/2, /*depth=*/0, out);
  return out;
}

std::string ToCompactJson(const Document& document) {
  std::string out;
  AppendJson(document, /*indent=*/0, /*depth=*/0, out);
  return out;
}

std::string ToYaml(const Document& document) {
  YAML::Emitter out;
  out.SetIndent(2);
  EmitYaml(document, out);
  return out.c_str();
}

}  // namespace pyservice::cli
