// ValidateCalendar is only useful if it says what systemd says, so every
// corpus expression is also run through the real `systemd-analyze calendar`
// and the two must agree. The corpus also records the expected answer, so it
// documents intent and catches a change of systemd's mind on upgrade.
#include "common/spec/calendar.h"

#include <fcntl.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cerrno>
#include <string>

#include "absl/status/status.h"
#include "gtest/gtest.h"

namespace pyservice::spec {
namespace {

constexpr char kSystemdAnalyze[] = "/usr/bin/systemd-analyze";

struct Case {
  const char* expression;
  bool valid;  // What systemd 252 says.
};

// Tricky cases are commented with the systemd rule they pin down.
constexpr Case kCorpus[] = {
    // Shorthands, case-insensitive, also with a timezone.
    {"minutely", true},
    {"hourly", true},
    {"daily", true},
    {"DAILY", true},
    {"weekly", true},
    {"monthly", true},
    {"yearly", true},
    {"annually", true},
    {"quarterly", true},
    {"semiannually", true},
    {"semi-annually", true},
    {"daily UTC", true},
    {"weekly Europe/Berlin", true},
    {"daily weekly", false},
    {"fortnightly", false},
    {"now", false},
    {"daily 12:00", false},

    // Weekdays: lists, ranges ("-" is the old spelling of ".."), full names.
    {"Mon", true},
    {"Mon,Tue *-*-* 00:00:00", true},
    {"Sat..Sun 10:00", true},
    {"Mon-Fri 09:30", true},
    {"mon..FRI 09:30", true},
    {"Monday,Wednesday 02:00", true},
    {"Mon..Wed,Fri *-*-* 08:00", true},
    {"Mon, 02:00", true},  // A trailing comma is allowed...
    {"Mon..", false},      // ...an open range is not.
    {"Mon- 02:00", false},
    {"Mo 02:00", false},  // Only three-letter and full names.
    {"Mondays 02:00", false},
    {"Fri..Mon 02:00", false},  // Ranges do not wrap around.
    {"Sun..Sat", false},
    {"Mon.Fri", false},
    {"Mon..Wed..Fri", false},
    {"Mon,,Tue", false},
    {"Mon\t02:00", false},  // Only spaces separate the parts.

    // Dates.
    {"2003-03-05 05:40", true},
    {"2023-01-01", true},
    {"2023-02-30", true},  // Parses; it just never elapses.
    {"*-*-1..7 12:00", true},
    {"Fri *-*-13", true},
    {"*-01,04,07,10-01 00:00", true},
    {"2024-*-01/2 03:00", true},
    {"23-06-15 12:00", true},  // Two-digit years: 0-69 are 20xx.
    {"*-*-0", false},
    {"*-*-32", false},
    {"*-13-01", false},
    {"1969-01-01", false},
    {"2200-01-01", false},
    {"69..70-01-01", false},  // 2069..1970: backwards.
    {"2023-01-01T12:00:00", false},
    {"1..5 12:00", false},

    // "~": days counted back from the end of the month, at most 28.
    {"*-02~1", true},
    {"*-*~07/1", true},
    {"*-*~1..5", true},
    {"*-02~29", false},
    {"2023~02-01", false},  // "~" only before the day.
    {"*-*~1,5,9", true},
    {"*-*~3,17,24", false},  // systemd narrows the bound per list item.

    // Times, with the same operators; seconds may have a fraction.
    {"12:00", true},
    {"*:0/15", true},
    {"*-*-* *:*:*", true},
    {"*-*-* 08..18/2:00", true},
    {"*:0,30", true},
    {"*:*:0/10", true},
    {"12:00:00.000001", true},
    {"*-*-* 00:00:59.9999994", true},
    {"*:5..5", true},      // A one-value range is a plain value.
    {"*:0..70/40", true},  // The range is cut to 0..40 before the check.
    {"25:00", false},
    {"*-*-* 24:00", false},
    {"12:60", false},
    {"12:00:60", false},
    {"00:00:59.9999995", false},  // Rounds up to 60.
    {"*:*:5..5", false},          // Seconds ranges must span a whole second.
    {"*:50/20", false},           // Must repeat at least once within 0-59.
    {"*:0/0", false},
    {"*/15:00", false},
    {"12:00:00:00", false},
    {"12", false},
    {"*:*:00.", false},
    {"12:00 PM", false},

    // "@": seconds since the epoch, years 1970-2199 only.
    {"@0", true},
    {"@1700000000 UTC", true},
    {"@7258118400", false},
    {"@", false},
    {"@abc", false},

    // Timezones: "UTC" in any case or a file in /usr/share/zoneinfo.
    {"Mon 02:00 Europe/Berlin", true},
    {"12:00 America/New_York", true},
    {"12:00 utc", true},
    {"12:00 Europe", false},  // A directory, not a zone.
    {"12:00 Mars/Phobos", false},
    {"12:00 UTC UTC", false},
    {"UTC", false},

    // Whitespace.
    {"Mon  2023-01-01  12:00", true},  // Runs of spaces between parts...
    {"2023-01-01 ", true},             // ...and after a date...
    {"12:00 ", false},                 // ...but not after a time,
    {" daily", false},                 // nor before anything.
    {"daily ", false},
    {"", false},
};

// Runs `systemd-analyze calendar -- EXPRESSION` with output discarded and
// returns its exit status, or -1 if it did not exit normally. The zone is
// pinned to UTC because systemd also accepts the local zone's abbreviations,
// which ValidateCalendar refuses on purpose (see calendar.h).
int RunSystemdAnalyzeCalendar(const std::string& expression) {
  // Everything the child needs is built before fork(): after it, the child
  // only makes async-signal-safe calls.
  std::string arg0 = "systemd-analyze", verb = "calendar", end = "--";
  std::string arg = expression;
  char* argv[] = {arg0.data(), verb.data(), end.data(), arg.data(), nullptr};
  std::string tz = "TZ=UTC", lang = "LANG=C";
  char* envp[] = {tz.data(), lang.data(), nullptr};

  pid_t pid = fork();
  if (pid < 0) return -1;
  if (pid == 0) {
    int null_fd = open("/dev/null", O_RDWR | O_CLOEXEC);
    if (null_fd < 0 || dup2(null_fd, STDIN_FILENO) < 0 ||
        dup2(null_fd, STDOUT_FILENO) < 0 || dup2(null_fd, STDERR_FILENO) < 0) {
      _exit(126);
    }
    execve(kSystemdAnalyze, argv, envp);
    _exit(127);
  }
  int status = 0;
  while (waitpid(pid, &status, 0) < 0) {
    if (errno != EINTR) return -1;
  }
  return WIFEXITED(status) ? WEXITSTATUS(status) : -1;
}

// Fails (never skips) when systemd-analyze is missing: without it the
// agreement this file exists to check is not checked at all.
void RequireSystemdAnalyze() {
  ASSERT_EQ(access(kSystemdAnalyze, X_OK), 0)
      << kSystemdAnalyze
      << " is missing; it is the reference these tests compare against "
         "(apt-get install systemd)";
}

TEST(CalendarTest, CorpusIsLargeAndBalanced) {
  int valid = 0, invalid = 0;
  for (const Case& c : kCorpus) (c.valid ? valid : invalid)++;
  EXPECT_GE(valid + invalid, 60);
  EXPECT_GE(valid, 30);
  EXPECT_GE(invalid, 30);
}

TEST(CalendarTest, CorpusValidityMatchesExpectation) {
  for (const Case& c : kCorpus) {
    absl::Status status = ValidateCalendar(c.expression);
    EXPECT_EQ(status.ok(), c.valid) << "\"" << c.expression << "\": " << status;
    if (!status.ok()) {
      EXPECT_EQ(status.code(), absl::StatusCode::kInvalidArgument)
          << c.expression;
      EXPECT_FALSE(status.message().empty()) << c.expression;
    }
  }
}

TEST(CalendarTest, CorpusAgreesWithSystemdAnalyze) {
  RequireSystemdAnalyze();
  if (HasFatalFailure()) return;
  for (const Case& c : kCorpus) {
    int exit_code = RunSystemdAnalyzeCalendar(c.expression);
    ASSERT_TRUE(exit_code == 0 || exit_code == 1)
        << "systemd-analyze calendar \"" << c.expression
        << "\" did not run cleanly (exit " << exit_code << ")";
    bool systemd_valid = exit_code == 0;
    absl::Status ours = ValidateCalendar(c.expression);
    EXPECT_EQ(ours.ok(), systemd_valid)
        << "\"" << c.expression << "\": systemd-analyze says "
        << (systemd_valid ? "valid" : "invalid") << ", we say " << ours;
    EXPECT_EQ(systemd_valid, c.valid)
        << "\"" << c.expression << "\": corpus expectation is out of date";
  }
}

TEST(CalendarTest, ErrorMessagesSayWhatIsWrong) {
  const struct {
    const char* expression;
    const char* message;
  } kCases[] = {
      {"25:00", "hour 25 out of range 0-23"},
      {"12:60", "minute 60 out of range 0-59"},
      {"Mo 02:00", "unknown weekday \"Mo\""},
      {"Mon,Tu 02:00", "unknown weekday \"Tu\""},
      {"Fri..Mon 02:00", "weekday range \"Fri..Mon\" runs backwards"},
      {"Mon..", "open weekday range in \"Mon..\""},
      {"daily weekly", "shorthand \"daily\" must stand alone"},
      {"2200-01-01", "year 2200 out of range 1970-2199"},
      {"*-02~29", "day ~29 out of range ~1-~28"},
      {"*:50/20", "minute 50/20 never repeats within 0-59"},
      {"12:00 Mars/Phobos", "unknown timezone \"Mars/Phobos\""},
      {"12:00 ", "trailing space not allowed"},
      {"", "empty expression"},
  };
  for (const auto& c : kCases) {
    EXPECT_EQ(ValidateCalendar(c.expression),
              absl::InvalidArgumentError(c.message))
        << c.expression;
  }
}

// Stricter than systemd on purpose: these cannot go into a unit file safely.
TEST(CalendarTest, RejectsNewlineNulAndControlCharacters) {
  EXPECT_EQ(ValidateCalendar("daily\n"),
            absl::InvalidArgumentError("newline not allowed"));
  EXPECT_EQ(ValidateCalendar("daily\nOnCalendar=hourly").code(),
            absl::StatusCode::kInvalidArgument);
  EXPECT_EQ(ValidateCalendar(std::string("daily\0", 6)),
            absl::InvalidArgumentError("nul byte not allowed"));
  EXPECT_EQ(ValidateCalendar("@\t5"),  // systemd's strtoul() would take it.
            absl::InvalidArgumentError("control character 0x09 not allowed"));
}

TEST(CalendarTest, RejectsOver256CharactersThatSystemdWouldTake) {
  RequireSystemdAnalyze();
  if (HasFatalFailure()) return;
  // A list of hours, "00...0,0,0,...,0:00", padded to exactly 256.
  std::string at_limit;
  while (at_limit.size() < 250) at_limit += "0,";
  at_limit += "0:00";
  at_limit.insert(0, 256 - at_limit.size(), '0');
  ASSERT_EQ(at_limit.size(), 256u);
  std::string over_limit = "0" + at_limit;

  EXPECT_TRUE(ValidateCalendar(at_limit).ok());
  EXPECT_EQ(
      ValidateCalendar(over_limit),
      absl::InvalidArgumentError("expression longer than 256 characters"));
  EXPECT_EQ(RunSystemdAnalyzeCalendar(over_limit), 0);
}

}  // namespace
}  // namespace pyservice::spec
