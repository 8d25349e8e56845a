#include "common/spec/unclosed_construct.h"

#include <vector>

namespace pyservice::spec {
namespace {

bool IsSpace(char c) { return c == ' ' || c == '\t' || c == '\r'; }

// Walks the text once, keeping yaml-cpp's 0-based line/column/position.
class Scanner {
 public:
  explicit Scanner(absl::string_view text) : text_(text) {}

  std::optional<UnclosedConstruct> Run();

 private:
  char At(size_t i) const { return i < text_.size() ? text_[i] : '\0'; }
  void Advance() {
    if (text_[i_] == '\n') {
      ++mark_.line;
      mark_.column = 0;
    } else {
      ++mark_.column;
    }
    ++i_;
    mark_.pos = static_cast<int>(i_);
  }
  size_t LineIndent(size_t line_start) const {
    size_t n = 0;
    while (At(line_start + n) == ' ') ++n;
    return n;
  }
  // After '|' or '>': the scalar's lines are those indented deeper than the
  // line that introduced it (or blank); quotes in them mean nothing.
  void SkipBlockScalar();
  // A quoted scalar from its opening quote; false when the text ends inside.
  bool SkipQuoted(char quote);

  absl::string_view text_;
  size_t i_ = 0;
  YAML::Mark mark_;
  size_t line_start_ = 0;
};

void Scanner::SkipBlockScalar() {
  const size_t indent = LineIndent(line_start_);
  while (i_ < text_.size() && text_[i_] != '\n') Advance();
  while (i_ < text_.size()) {
    const size_t next = i_ + 1;  // text_[i_] is '\n'
    size_t end = next;
    while (end < text_.size() && text_[end] != '\n') ++end;
    const absl::string_view line = text_.substr(next, end - next);
    const bool blank = line.find_first_not_of(" \t\r") == absl::string_view::npos;
    if (!blank && LineIndent(next) <= indent) return;
    while (i_ < end) Advance();
    line_start_ = next;
  }
}

bool Scanner::SkipQuoted(char quote) {
  Advance();  // the opening quote
  while (i_ < text_.size()) {
    const char c = text_[i_];
    if (c == '\n') line_start_ = i_ + 1;
    if (quote == '"' && c == '\\') {
      Advance();
      if (i_ < text_.size()) Advance();
      continue;
    }
    if (c == quote) {
      if (quote == '\'' && At(i_ + 1) == '\'') {  // '' is an escaped quote
        Advance();
        Advance();
        continue;
      }
      Advance();
      return true;
    }
    Advance();
  }
  return false;
}

std::optional<UnclosedConstruct> Scanner::Run() {
  struct Opener {
    char bracket;
    YAML::Mark mark;
  };
  std::vector<Opener> flow;
  // Whether the next character starts a node (where a quote opens a quoted
  // scalar and a bracket a collection; elsewhere both are plain text).
  bool node_start = true;
  char previous = '\n';
  while (i_ < text_.size()) {
    const char c = text_[i_];
    if (c == '\n') {
      node_start = true;
      previous = c;
      Advance();
      line_start_ = i_;
      continue;
    }
    if (IsSpace(c)) {
      if (previous == ':' || previous == '-' || previous == '?') node_start = true;
      previous = c;
      Advance();
      continue;
    }
    if (c == '#' && (IsSpace(previous) || previous == '\n')) {
      while (i_ < text_.size() && text_[i_] != '\n') Advance();
      continue;
    }
    if ((c == '"' || c == '\'') && node_start) {
      const YAML::Mark open = mark_;
      if (!SkipQuoted(c)) {
        return UnclosedConstruct{open, c == '"' ? "the double-quoted string opened here is never closed"
                                                : "the single-quoted string opened here is never closed",
                                  /*quoted=*/true};
      }
      node_start = false;
      previous = c;
      continue;
    }
    if ((c == '[' || c == '{') && (node_start || !flow.empty())) {
      flow.push_back({c, mark_});
      node_start = true;
    } else if ((c == ']' || c == '}') && !flow.empty()) {
      if (flow.back().bracket != (c == ']' ? '[' : '{')) break;  // closed by the wrong one
      flow.pop_back();
      node_start = false;
    } else if (c == ',' && !flow.empty()) {
      node_start = true;
    } else if (c == ':' && !flow.empty()) {
      node_start = true;  // {"key":"value"}
    } else if ((c == '|' || c == '>') && node_start && flow.empty()) {
      SkipBlockScalar();
      continue;
    } else if ((c == '!' || c == '&') && node_start) {
      // A tag or anchor: the node starts after it.
      while (i_ < text_.size() && !IsSpace(text_[i_]) && text_[i_] != '\n') Advance();
      continue;
    } else {
      node_start = false;
    }
    previous = c;
    Advance();
  }
  if (flow.empty()) return std::nullopt;
  const Opener& open = flow.back();
  return UnclosedConstruct{open.mark, open.bracket == '['
                                          ? "the \"[\" opened here is never closed"
                                          : "the \"{\" opened here is never closed"};
}

}  // namespace

std::optional<UnclosedConstruct> FindUnclosedConstruct(absl::string_view text) {
  return Scanner(text).Run();
}

}  // namespace pyservice::spec
