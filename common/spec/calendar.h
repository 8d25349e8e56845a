// Validation of systemd OnCalendar= expressions (systemd.time(7), "Calendar
// Events"), so that a bad `schedule:` in app.yaml is rejected when the spec is
// checked instead of by PID 1 on every host the unit lands on.
#ifndef PYSERVICE_COMMON_SPEC_CALENDAR_H_
#define PYSERVICE_COMMON_SPEC_CALENDAR_H_

#include "absl/status/status.h"
#include "absl/strings/string_view.h"

namespace pyservice::spec {

// OK if systemd would accept `expression` as OnCalendar=; otherwise
// INVALID_ARGUMENT with a short lowercase message saying what is wrong,
// e.g. "hour 25 out of range 0-23" or "unknown weekday \"Mo\"".
//
// The rules are those of systemd 252 (Debian bookworm), and the answer agrees
// with `systemd-analyze calendar` there, except where this is stricter on
// purpose:
//  * empty expressions, expressions over 256 characters and any ASCII
//    control character (newline, tab, NUL, ...) are rejected, since they
//    cannot be written safely into a unit file;
//  * a trailing timezone must be "UTC" (any case) or a zone file under
//    /usr/share/zoneinfo; systemd also accepts the abbreviations of the host's
//    own local zone ("CEST" on a Berlin host), which would make the answer
//    depend on which host runs the unit.
//
// Zone names are looked up in /usr/share/zoneinfo on the machine that
// validates. Thread-safe.
absl::Status ValidateCalendar(absl::string_view expression);

}  // namespace pyservice::spec

#endif  // PYSERVICE_COMMON_SPEC_CALENDAR_H_
