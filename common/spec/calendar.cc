// The parser follows systemd 252's src/shared/calendarspec.c step by step
// (calendar_spec_from_string and what it calls) rather than a grammar of our
// own: systemd's acceptance has many quirks ("Mon," and "2023-01-01 " are
// fine, "*:*:5..5" is not, "*:0..70/40" is, years 0-99 mean 2000-2069 and
// 1970-1999), and only a step-by-step copy agrees with it on all of them.
// tests/common/spec/calendar_test.cc checks the agreement against the real
// `systemd-analyze calendar`.
#include "common/spec/calendar.h"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <array>
#include <cerrno>
#include <cstdint>
#include <cstring>
#include <limits>
#include <string>
#include <tuple>
#include <utility>
#include <vector>

#include "absl/status/status.h"
#include "absl/strings/ascii.h"
#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "absl/strings/string_view.h"
#include "common/status/status_macros.h"

namespace pyservice::spec {
namespace {

constexpr size_t kMaxExpressionLength = 256;
constexpr int64_t kUsecPerSec = 1000000;
// systemd keeps every value in an int and refuses what does not fit.
constexpr int64_t kIntMax = std::numeric_limits<int32_t>::max();
// CALENDARSPEC_COMPONENTS_MAX: how deep systemd lets a ',' list recurse.
constexpr int kMaxListNesting = 240;
// 2200-01-01T00:00:00Z: "@N" becomes a fixed date, whose year must be valid.
constexpr int64_t kEpochLimit = 7258118400;

constexpr std::array<absl::string_view, 13> kShorthands = {
    "minutely",      "hourly",     "daily",      "monthly",   "weekly",
    "yearly",        "annually",   "anually",    "quarterly", "semiannually",
    "semi-annually", "biannually", "bi-annually"};

struct Weekday {
  absl::string_view name;
  int number;
};
// Full names first: systemd takes the first prefix that matches and then
// insists on a separator, so "Mon" must not be tried before "Monday".
constexpr std::array<Weekday, 14> kWeekdays = {{{"Monday", 0},
                                                {"Mon", 0},
                                                {"Tuesday", 1},
                                                {"Tue", 1},
                                                {"Wednesday", 2},
                                                {"Wed", 2},
                                                {"Thursday", 3},
                                                {"Thu", 3},
                                                {"Friday", 4},
                                                {"Fri", 4},
                                                {"Saturday", 5},
                                                {"Sat", 5},
                                                {"Sunday", 6},
                                                {"Sun", 6}}};

// One "start[..stop][/repeat]" element of a field, as systemd stores it.
struct Component {
  int64_t start = 0;
  int64_t stop = -1;   // -1: not a range.
  int64_t repeat = 0;  // 0: does not repeat.
};

// The elements of one field; empty means "*" (always valid).
using Chain = std::vector<Component>;

struct Field {
  absl::string_view name;
  int64_t from;
  int64_t to;
  bool usec;     // Seconds are kept in microseconds.
  bool is_year;  // Two-digit years are expanded first.
};

constexpr Field kYear{"year", 1970, 2199, false, true};
constexpr Field kMonth{"month", 1, 12, false, false};
constexpr Field kDay{"day", 1, 31, false, false};
constexpr Field kHour{"hour", 0, 23, false, false};
constexpr Field kMinute{"minute", 0, 59, false, false};
constexpr Field kSecond{"second", 0, 60 * kUsecPerSec - 1, true, false};

struct Spec {
  Chain year, month, day, hour, minute, second;
  bool end_of_month = false;  // '~': days count back from the month's end.
};

bool IsDigit(char c) { return c >= '0' && c <= '9'; }
bool IsAlpha(char c) {
  return absl::ascii_isalpha(static_cast<unsigned char>(c));
}

std::string Quote(absl::string_view s) { return absl::StrCat("\"", s, "\""); }

// The part of `s` before the first character of `stops`.
absl::string_view Until(absl::string_view s, absl::string_view stops) {
  return s.substr(0, std::min(s.size(), s.find_first_of(stops)));
}

bool ReadExactly(int fd, char* buffer, size_t size) {
  size_t done = 0;
  while (done < size) {
    ssize_t n = read(fd, buffer + done, size - done);
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) return false;
    done += static_cast<size_t>(n);
  }
  return true;
}

// systemd's verify_timezone(): a relative path of [A-Za-z0-9_+-] segments
// that names a regular TZif file under /usr/share/zoneinfo. The character
// check is what keeps "../" and absolute paths out of the open() below.
bool IsKnownTimezone(absl::string_view name) {
  if (name.empty() || name[0] == '/') return false;
  if (name == "UTC") return true;  // systemd's fallback, even without tzdata.
  bool after_slash = false;
  for (char c : name) {
    bool ok = absl::ascii_isalnum(static_cast<unsigned char>(c)) || c == '-' ||
              c == '_' || c == '+' || c == '/';
    if (!ok || (c == '/' && after_slash)) return false;
    after_slash = c == '/';
  }
  if (after_slash) return false;
  std::string path = absl::StrCat("/usr/share/zoneinfo/", name);
  int fd = open(path.c_str(), O_RDONLY | O_CLOEXEC);
  if (fd < 0) return false;
  struct stat st;
  char magic[4];
  bool valid = fstat(fd, &st) == 0 && S_ISREG(st.st_mode) &&
               ReadExactly(fd, magic, sizeof(magic)) &&
               std::memcmp(magic, "TZif", sizeof(magic)) == 0;
  close(fd);
  return valid;
}

// What systemd strips off the end before parsing: " UTC" in any case, or a
// last word that is a zone name. (It would also strip the local zone's
// abbreviations; see calendar.h for why we do not.)
absl::string_view StripTimezone(absl::string_view expression) {
  if (absl::EndsWithIgnoreCase(expression, " UTC")) {
    return expression.substr(0, expression.size() - 4);
  }
  size_t last_space = expression.rfind(' ');
  if (last_space != absl::string_view::npos &&
      IsKnownTimezone(expression.substr(last_space + 1))) {
    return expression.substr(0, last_space);
  }
  return expression;
}

bool IsShorthand(absl::string_view word) {
  for (absl::string_view shorthand : kShorthands) {
    if (absl::EqualsIgnoreCase(word, shorthand)) return true;
  }
  return false;
}

bool IsWeekdayName(absl::string_view word) {
  for (const Weekday& day : kWeekdays) {
    if (absl::EqualsIgnoreCase(word, day.name)) return true;
  }
  return false;
}

absl::Status CheckCharacters(absl::string_view expression) {
  if (expression.empty()) return absl::InvalidArgumentError("empty expression");
  if (expression.size() > kMaxExpressionLength) {
    return absl::InvalidArgumentError(absl::StrCat(
        "expression longer than ", kMaxExpressionLength, " characters"));
  }
  for (char c : expression) {
    auto u = static_cast<unsigned char>(c);
    if (c == '\n') return absl::InvalidArgumentError("newline not allowed");
    if (c == '\0') return absl::InvalidArgumentError("nul byte not allowed");
    if (u < 0x20 || u == 0x7f) {
      return absl::InvalidArgumentError(
          absl::StrFormat("control character 0x%02x not allowed", u));
    }
  }
  return absl::OkStatus();
}

// Parses what is left after the timezone, as systemd's parse_weekdays,
// parse_date and parse_calendar_time do. Values are only range-checked
// afterwards (CheckSpec), as systemd does.
class Parser {
 public:
  explicit Parser(absl::string_view text) : text_(text) {}

  absl::Status Parse(Spec& spec);

  // Where the failure that Parse returned was found.
  size_t error_pos() const { return error_pos_; }

 private:
  absl::Status ParseWeekdays();
  // `done` is set when the date was "@N", which also fixes the time.
  absl::Status ParseDate(Spec& spec, bool& done);
  absl::Status ParseEpoch();
  absl::Status ParseTime(Spec& spec);
  absl::Status ParseChain(bool usec, Chain& chain);
  absl::Status ParseNumber(bool usec, int64_t& value);
  absl::Status ParseFraction(int64_t& usec);

  bool AtEnd() const { return pos_ >= text_.size(); }
  // '\0' past the end, like the C string systemd walks (NUL is rejected
  // before parsing, so it cannot be mistaken for a real character).
  char Peek(size_t ahead = 0) const {
    return pos_ + ahead < text_.size() ? text_[pos_ + ahead] : '\0';
  }
  void SkipSpaces() {
    while (Peek() == ' ') ++pos_;
  }
  // The space-delimited word at (or, on a space, just before) `at`.
  absl::string_view WordAt(size_t at) const;
  absl::string_view Rest() const { return Until(text_.substr(pos_), " "); }
  absl::Status Fail(std::string message) {
    error_pos_ = pos_;
    return absl::InvalidArgumentError(std::move(message));
  }
  absl::Status FailUnexpected();

  absl::string_view text_;
  size_t pos_ = 0;
  size_t error_pos_ = 0;
};

absl::string_view Parser::WordAt(size_t at) const {
  at = std::min(at, text_.size());
  while (at > 0 && (at == text_.size() || text_[at] == ' ')) --at;
  if (text_.empty() || text_[at] == ' ') return {};
  size_t begin = text_.rfind(' ', at);
  begin = begin == absl::string_view::npos ? 0 : begin + 1;
  size_t end = std::min(text_.size(), text_.find(' ', at));
  return text_.substr(begin, end - begin);
}

absl::Status Parser::FailUnexpected() {
  if (text_.find_first_not_of(' ', pos_) == absl::string_view::npos) {
    return Fail("trailing space not allowed");
  }
  if (Peek() == ' ') {
    absl::string_view before = WordAt(pos_);
    ++pos_;
    SkipSpaces();
    std::string message =
        absl::StrCat("unexpected ", Quote(Rest()), " after ", Quote(before));
    return Fail(std::move(message));
  }
  return Fail(
      absl::StrCat("unexpected ", Quote(Rest()), " in ", Quote(WordAt(pos_))));
}

absl::Status Parser::Parse(Spec& spec) {
  if (Peek() == ' ') return Fail("leading space not allowed");
  RETURN_IF_ERROR(ParseWeekdays());
  // A word that is not a weekday can only be a date or time, and those
  // start with a digit, '*' or '@'.
  if (pos_ == 0 && IsAlpha(Peek())) {
    absl::string_view word = Until(text_, " ,.-");
    if (IsShorthand(word)) {
      // "daily Mars/Phobos": a second word that is not a date, time,
      // weekday or shorthand was meant as a zone.
      absl::string_view rest = text_.substr(word.size());
      absl::string_view zone = rest.substr(std::min<size_t>(1, rest.size()));
      if (absl::StartsWith(rest, " ") && !zone.empty() && IsAlpha(zone[0]) &&
          !absl::StrContains(zone, ' ') && !IsShorthand(zone) &&
          !IsWeekdayName(Until(zone, ",.-"))) {
        pos_ = 1 + word.size();
        return Fail(absl::StrCat("unknown timezone ", Quote(zone)));
      }
      return Fail(absl::StrCat("shorthand ", Quote(word), " must stand alone"));
    }
    if (word.size() == text_.size()) {
      return Fail(absl::StrCat("unknown shorthand or weekday ", Quote(word)));
    }
    return Fail(absl::StrCat("unknown weekday ", Quote(word)));
  }
  bool done = false;
  RETURN_IF_ERROR(ParseDate(spec, done));
  if (!done) RETURN_IF_ERROR(ParseTime(spec));
  if (!AtEnd()) return FailUnexpected();
  return absl::OkStatus();
}

absl::Status Parser::ParseWeekdays() {
  int range_from = -1;  // The weekday before "..", while in a range.
  size_t range_pos = 0;
  for (bool first = true;; first = false) {
    const Weekday* day = nullptr;
    for (const Weekday& candidate : kWeekdays) {
      if (absl::StartsWithIgnoreCase(text_.substr(pos_), candidate.name)) {
        day = &candidate;
        break;
      }
    }
    absl::string_view word = Until(text_.substr(pos_), " ,.-");
    // Not a weekday at the start: the expression begins with the date.
    if (day == nullptr && first) return absl::OkStatus();
    if (day == nullptr) {
      if (word.empty()) {
        return Fail(
            absl::StrCat("empty item in weekday list ", Quote(WordAt(pos_))));
      }
      return Fail(absl::StrCat("unknown weekday ", Quote(word)));
    }
    char next = Peek(day->name.size());
    if (next != '\0' && next != '-' && next != '.' && next != ',' &&
        next != ' ') {
      return Fail(absl::StrCat("unknown weekday ", Quote(word)));
    }
    if (range_from > day->number) {
      absl::string_view range =
          text_.substr(range_pos, pos_ + day->name.size() - range_pos);
      return Fail(
          absl::StrCat("weekday range ", Quote(range), " runs backwards"));
    }
    size_t name_pos = pos_;
    pos_ += day->name.size();

    if (AtEnd()) return absl::OkStatus();
    if (Peek() == ' ') {
      SkipSpaces();
      return absl::OkStatus();
    }
    if (Peek() == '.' || Peek() == '-') {
      if (range_from >= 0) {
        return Fail(
            absl::StrCat("chained weekday range in ", Quote(WordAt(pos_))));
      }
      if (Peek() == '.' && Peek(1) != '.') {
        return Fail(absl::StrCat("expected \"..\" after ",
                                 Quote(text_.substr(name_pos, pos_ - name_pos)),
                                 " in ", Quote(WordAt(pos_))));
      }
      range_from = day->number;
      range_pos = name_pos;
      pos_ += Peek() == '.' ? 2 : 1;  // "-" is the old spelling of "..".
    } else {                          // ','
      range_from = -1;
      ++pos_;
    }
    // A trailing comma is fine ("Mon, 02:00"), an open range is not.
    if (AtEnd() || Peek() == ' ') {
      absl::string_view list = WordAt(pos_);
      SkipSpaces();
      if (range_from >= 0) {
        return Fail(absl::StrCat("open weekday range in ", Quote(list)));
      }
      return absl::OkStatus();
    }
  }
}

absl::Status Parser::ParseDate(Spec& spec, bool& done) {
  done = false;
  if (AtEnd()) return absl::OkStatus();
  if (Peek() == '@') {
    done = true;
    return ParseEpoch();
  }
  size_t begin = pos_;
  Chain first, second, third;
  RETURN_IF_ERROR(ParseChain(false, first));
  // "12:00" or "5": a time, which ParseTime reads again from the start.
  if (AtEnd() || Peek() == ':') {
    pos_ = begin;
    return absl::OkStatus();
  }
  if (Peek() != '-' && Peek() != '~') {
    return Fail(absl::StrCat("expected \"-\", \"~\" or \":\" after ",
                             Quote(text_.substr(begin, pos_ - begin))));
  }
  spec.end_of_month = Peek() == '~';
  ++pos_;
  RETURN_IF_ERROR(ParseChain(false, second));
  if (AtEnd() || Peek() == ' ') {  // MONTH-DAY.
    SkipSpaces();
    spec.month = std::move(first);
    spec.day = std::move(second);
    return absl::OkStatus();
  }
  if (spec.end_of_month) {
    return Fail(absl::StrCat("\"~\" may only come before the day in ",
                             Quote(WordAt(pos_))));
  }
  if (Peek() != '-' && Peek() != '~') return FailUnexpected();
  spec.end_of_month = Peek() == '~';
  ++pos_;
  RETURN_IF_ERROR(ParseChain(false, third));
  if (!AtEnd() && Peek() != ' ') return FailUnexpected();
  SkipSpaces();
  spec.year = std::move(first);
  spec.month = std::move(second);
  spec.day = std::move(third);
  return absl::OkStatus();
}

// "@N" goes through strtoul() in systemd, so leading spaces and a sign are
// accepted, and "-N" wraps around modulo 2^64.
absl::Status Parser::ParseEpoch() {
  size_t at = pos_;
  ++pos_;
  while (Peek() == ' ') ++pos_;
  bool negative = Peek() == '-';
  if (Peek() == '-' || Peek() == '+') ++pos_;
  if (!IsDigit(Peek())) {
    pos_ = at;
    return Fail("expected seconds since the epoch after \"@\"");
  }
  uint64_t value = 0;
  bool overflow = false;
  for (; IsDigit(Peek()); ++pos_) {
    uint64_t digit = static_cast<uint64_t>(Peek() - '0');
    if (value > (std::numeric_limits<uint64_t>::max() - digit) / 10) {
      overflow = true;
    } else {
      value = value * 10 + digit;
    }
  }
  absl::string_view stamp = text_.substr(at, pos_ - at);
  if (overflow) {
    return Fail(absl::StrCat("timestamp ", Quote(stamp), " too large"));
  }
  if (negative) value = 0 - value;
  auto seconds = static_cast<int64_t>(value);
  if (seconds < 0 || seconds >= kEpochLimit) {
    return Fail(absl::StrCat("timestamp ", Quote(stamp),
                             " not within years 1970-2199"));
  }
  return absl::OkStatus();
}

absl::Status Parser::ParseTime(Spec& spec) {
  if (AtEnd()) return absl::OkStatus();  // Midnight.
  size_t begin = pos_;
  RETURN_IF_ERROR(ParseChain(false, spec.hour));
  if (Peek() != ':') {
    if (Peek() == ' ' || AtEnd()) {
      return Fail(absl::StrCat("expected \":\" after hour ",
                               Quote(text_.substr(begin, pos_ - begin))));
    }
    return FailUnexpected();
  }
  ++pos_;
  RETURN_IF_ERROR(ParseChain(false, spec.minute));
  if (AtEnd()) return absl::OkStatus();
  if (Peek() != ':') return FailUnexpected();
  ++pos_;
  RETURN_IF_ERROR(ParseChain(true, spec.second));
  if (!AtEnd()) return FailUnexpected();
  return absl::OkStatus();
}

// "*" or a ','-list of "start[..stop][/repeat]" (systemd's parse_chain and
// prepend_component).
absl::Status Parser::ParseChain(bool usec, Chain& chain) {
  chain.clear();
  if (Peek() == '*') {
    ++pos_;
    return absl::OkStatus();
  }
  for (int nesting = 0;; ++nesting) {
    if (nesting > kMaxListNesting) {
      return Fail(absl::StrCat("too many values in ", Quote(WordAt(pos_))));
    }
    size_t begin = pos_;
    Component c;
    RETURN_IF_ERROR(ParseNumber(usec, c.start));
    if (Peek() == '.' && Peek(1) == '.') {
      pos_ += 2;
      RETURN_IF_ERROR(ParseNumber(usec, c.stop));
      c.repeat = usec ? kUsecPerSec : 1;
    }
    if (Peek() == '/') {
      ++pos_;
      RETURN_IF_ERROR(ParseNumber(usec, c.repeat));
      if (c.repeat == 0) {
        return Fail(absl::StrCat("repetition in ",
                                 Quote(text_.substr(begin, pos_ - begin)),
                                 " must be positive"));
      }
    } else {
      absl::string_view element = text_.substr(begin, pos_ - begin);
      if (c.start > kIntMax - c.repeat) {
        return Fail(absl::StrCat("number in ", Quote(element), " too large"));
      }
      // A seconds range steps by whole seconds unless told otherwise, so it
      // must hold at least one step.
      if (usec && c.stop >= 0 && c.start + c.repeat > c.stop) {
        return Fail(absl::StrCat("second range ", Quote(element),
                                 c.start > c.stop
                                     ? " runs backwards"
                                     : " is shorter than one second"));
      }
    }
    char next = Peek();
    if (!AtEnd() && next != ' ' && next != ',' && next != '-' && next != '~' &&
        next != ':') {
      return FailUnexpected();
    }
    chain.push_back(c);
    if (next != ',') return absl::OkStatus();
    ++pos_;
  }
}

// A decimal the way systemd's parse_component_decimal reads one: digits
// only, seconds with an optional fraction, nothing above INT_MAX.
absl::Status Parser::ParseNumber(bool usec, int64_t& value) {
  if (!IsDigit(Peek())) {
    if (AtEnd() || Peek() == ' ') {
      return Fail(
          absl::StrCat("missing number at the end of ", Quote(WordAt(pos_))));
    }
    std::string message = absl::StrCat("expected a number at ", Quote(Rest()));
    if (Rest() != WordAt(pos_)) {
      absl::StrAppend(&message, " in ", Quote(WordAt(pos_)));
    }
    return Fail(std::move(message));
  }
  size_t begin = pos_;
  uint64_t parsed = 0;
  bool overflow = false;
  for (; IsDigit(Peek()); ++pos_) {
    uint64_t digit = static_cast<uint64_t>(Peek() - '0');
    if (parsed > (std::numeric_limits<uint64_t>::max() - digit) / 10) {
      overflow = true;
    } else {
      parsed = parsed * 10 + digit;
    }
  }
  absl::string_view digits = text_.substr(begin, pos_ - begin);
  if (overflow || (usec && parsed > std::numeric_limits<uint64_t>::max() /
                                        static_cast<uint64_t>(kUsecPerSec))) {
    return Fail(absl::StrCat("number ", digits, " too large"));
  }
  if (usec) {
    parsed *= kUsecPerSec;
    // One '.' is a decimal point, ".." starts a range.
    if (Peek() == '.' && Peek(1) != '.') {
      ++pos_;
      int64_t fraction = 0;
      RETURN_IF_ERROR(ParseFraction(fraction));
      parsed += static_cast<uint64_t>(fraction);
    }
  }
  if (parsed > static_cast<uint64_t>(kIntMax)) {
    return Fail(absl::StrCat("number ", text_.substr(begin, pos_ - begin),
                             " too large"));
  }
  value = static_cast<int64_t>(parsed);
  return absl::OkStatus();
}

// systemd's parse_fractional_part_u(.., 6, ..): at least one digit, the
// first six kept, the seventh rounds, the rest are ignored.
absl::Status Parser::ParseFraction(int64_t& usec) {
  if (!IsDigit(Peek())) {
    return Fail(
        absl::StrCat("expected digits after \".\" in ", Quote(WordAt(pos_))));
  }
  int64_t value = 0;
  for (int i = 0; i < 6; ++i) {
    value *= 10;
    if (IsDigit(Peek())) {
      value += Peek() - '0';
      ++pos_;
    }
  }
  // The seventh digit rounds. With fewer than six digits the loop above
  // padded with zeros and Peek() is not a digit, as in systemd.
  if (Peek() >= '5' && Peek() <= '9') ++value;
  while (IsDigit(Peek())) ++pos_;
  usec = value;
  return absl::OkStatus();
}

std::string FormatValue(const Field& field, bool from_end, int64_t value) {
  std::string text;
  if (field.usec && value % kUsecPerSec != 0) {
    text = absl::StrFormat("%d.%06d", value / kUsecPerSec, value % kUsecPerSec);
    text.erase(text.find_last_not_of('0') + 1);
  } else {
    text = absl::StrCat(field.usec ? value / kUsecPerSec : value);
  }
  return from_end ? absl::StrCat("~", text) : text;
}

struct Normalized {
  Component value;
  Component written;  // For messages: as the user wrote it (year expanded).
};

// systemd's fix_year and normalize_chain: two-digit years expanded, ranges
// cut to a whole number of steps, then sorted and deduplicated. The order
// matters to CheckChain.
std::vector<Normalized> Normalize(const Chain& chain, bool is_year) {
  std::vector<Normalized> out;
  for (Component c : chain) {
    if (is_year) {  // 0-69 are 20xx, 70-99 are 19xx.
      for (int64_t* year : {&c.start, &c.stop}) {
        if (*year >= 0 && *year < 70) *year += 2000;
        if (*year >= 70 && *year < 100) *year += 1900;
      }
    }
    Normalized n{c, c};
    Component& v = n.value;
    if (v.stop > v.start && v.repeat > 0) {
      v.stop -= (v.stop - v.start) % v.repeat;
    }
    // A range that cannot step even once, or that stops where it starts, is
    // a plain value.
    if ((v.stop > v.start && v.repeat > 0 && v.start + v.repeat > v.stop) ||
        v.start == v.stop) {
      v.repeat = 0;
      v.stop = -1;
    }
    out.push_back(n);
  }
  auto key = [](const Normalized& n) {
    return std::tuple(n.value.start, n.value.stop, n.value.repeat);
  };
  std::stable_sort(out.begin(), out.end(), [&](const auto& a, const auto& b) {
    return key(a) < key(b);
  });
  out.erase(std::unique(
                out.begin(), out.end(),
                [&](const auto& a, const auto& b) { return key(a) == key(b); }),
            out.end());
  return out;
}

// systemd's chain_valid, over the normalized chain.
absl::Status CheckChain(const Chain& chain, const Field& field, bool from_end) {
  auto value = [&](int64_t v) { return FormatValue(field, from_end, v); };
  auto repeat = [&](int64_t v) { return FormatValue(field, false, v); };
  int64_t to = field.to;
  for (const Normalized& n : Normalize(chain, field.is_year)) {
    const Component& c = n.value;
    // "~N" is the N-th last day and may go up to ~28. systemd lowers the
    // bound by 3 again for each further value of the sorted list (so
    // "*-*~3,17,24" fails on 24 > 22); we follow it to agree.
    if (from_end) to -= 3;
    // Seconds are shown as "0-59", not "0-59.999999".
    std::string range =
        absl::StrCat(value(field.from), "-",
                     value(to - to % (field.usec ? kUsecPerSec : 1)));
    auto out_of_range = [&](int64_t v) {
      return absl::InvalidArgumentError(
          absl::StrCat(field.name, " ", value(v), " out of range ", range));
    };
    if (c.start < field.from || c.start > to) return out_of_range(c.start);
    if (c.repeat > to - field.from) {
      return absl::InvalidArgumentError(absl::StrCat(
          field.name, " repetition /", repeat(n.written.repeat), " too large"));
    }
    if (c.stop >= 0) {
      if (c.stop < field.from || c.stop > to) {
        return out_of_range(n.written.stop);
      }
      if (c.start + c.repeat > c.stop) {
        return absl::InvalidArgumentError(
            absl::StrCat(field.name, " range ", value(n.written.start), "..",
                         value(n.written.stop), " runs backwards"));
      }
    } else if (from_end ? c.start - c.repeat < field.from
                        : c.start + c.repeat > to) {
      // "start/repeat" must repeat at least once within the field.
      return absl::InvalidArgumentError(absl::StrCat(
          field.name, " ", value(n.written.start), "/",
          repeat(n.written.repeat), " never repeats within ", range));
    }
  }
  return absl::OkStatus();
}

absl::Status CheckSpec(const Spec& spec) {
  RETURN_IF_ERROR(CheckChain(spec.year, kYear, false));
  RETURN_IF_ERROR(CheckChain(spec.month, kMonth, false));
  // "*-02~*" is simply every day of February.
  RETURN_IF_ERROR(
      CheckChain(spec.day, kDay, spec.end_of_month && !spec.day.empty()));
  RETURN_IF_ERROR(CheckChain(spec.hour, kHour, false));
  RETURN_IF_ERROR(CheckChain(spec.minute, kMinute, false));
  return CheckChain(spec.second, kSecond, false);
}

}  // namespace

absl::Status ValidateCalendar(absl::string_view expression) {
  RETURN_IF_ERROR(CheckCharacters(expression));
  absl::string_view body = StripTimezone(expression);
  if (body.empty()) {
    return absl::InvalidArgumentError("timezone without a time");
  }
  if (IsShorthand(body)) return absl::OkStatus();

  Spec spec;
  Parser parser(body);
  absl::Status parsed = parser.Parse(spec);
  if (!parsed.ok()) {
    // Failing at or after the last space, on a word that starts like a zone
    // name, almost always means a zone that does not exist.
    size_t last_space = body.rfind(' ');
    if (last_space != absl::string_view::npos && last_space > 0 &&
        parser.error_pos() >= last_space && last_space + 1 < body.size() &&
        IsAlpha(body[last_space + 1])) {
      return absl::InvalidArgumentError(absl::StrCat(
          "unknown timezone ", Quote(body.substr(last_space + 1))));
    }
    return parsed;
  }
  return CheckSpec(spec);
}

}  // namespace pyservice::spec
