#include "cli/commands/rollout_follow.h"

#include <sys/ioctl.h>
#include <unistd.h>

#include <algorithm>
#include <optional>
#include <vector>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_split.h"
#include "cli/commands/rollout_format.h"
#include "common/status/status_macros.h"

namespace pyservice::cli {
namespace {

struct TerminalSize {
  int columns = 80;
  int rows = 24;
};

TerminalSize GetTerminalSize() {
  TerminalSize result;
  winsize size{};
  if (ioctl(STDOUT_FILENO, TIOCGWINSZ, &size) == 0) {
    if (size.ws_col > 0) result.columns = size.ws_col;
    if (size.ws_row > 0) result.rows = size.ws_row;
  }
  return result;
}

// Redraws a multi-line frame in place: moves the cursor up over the
// previous frame and clears to the end of the screen. Lines are cut to the
// terminal's width so none wraps (a wrapped line would break the count),
// and the frame to its height (the cursor cannot move above the screen).
class FrameDrawer {
 public:
  void Draw(std::ostream& out, const std::string& frame) {
    const TerminalSize size = GetTerminalSize();
    std::vector<absl::string_view> lines = absl::StrSplit(frame, '\n', absl::SkipEmpty());
    const int max_lines = std::max(size.rows - 2, 3);
    std::string more;
    if (static_cast<int>(lines.size()) > max_lines) {
      more = absl::StrCat("... ", lines.size() - (max_lines - 1),
                          " more line(s): see `pyctl rollout status` in a larger terminal");
      lines.resize(max_lines - 1);
      lines.push_back(more);
    }
    std::string text;
    if (lines_ > 0) absl::StrAppend(&text, "\r\x1b[", lines_, "A\x1b[J");
    lines_ = 0;
    for (absl::string_view line : lines) {
      if (static_cast<int>(line.size()) >= size.columns) line = line.substr(0, size.columns - 1);
      absl::StrAppend(&text, line, "\n");
      ++lines_;
    }
    out << text << std::flush;
  }

 private:
  int lines_ = 0;
};

}  // namespace

absl::StatusOr<v1::Rollout> FollowRollout(ControllerClient& client, const std::string& app,
                                          uint32_t id, const CommandContext& context) {
  const bool table = context.format == OutputFormat::kTable;
  FrameDrawer frame;
  RolloutLineRenderer lines;
  std::optional<v1::Rollout> last;
  v1::GetRolloutRequest request;
  request.set_app(app);
  request.set_id(id);
  RETURN_IF_ERROR(client.WatchRollout(request, [&](const v1::Rollout& rollout) {
    last = rollout;
    if (table && context.terminal) {
      frame.Draw(*context.out, RolloutText(rollout));
    } else if (table) {
      *context.out << lines.Update(rollout) << std::flush;
    }
    return StopFor(rollout) == RolloutStop::kContinue;
  }));
  if (last.has_value()) return *std::move(last);
  // The stream ended before its first snapshot: ask once more.
  return client.GetRollout(request);
}

absl::Status ReportRollout(const v1::Rollout& rollout, const CommandContext& context) {
  context.Print(RolloutDocument(rollout), RolloutSummary(rollout));
  return RolloutResult(rollout);
}

absl::Status FollowAndReport(ControllerClient& client, const v1::Rollout& rollout,
                             const CommandContext& context) {
  absl::StatusOr<v1::Rollout> last = FollowRollout(client, rollout.app(), rollout.id(), context);
  if (!last.ok()) {
    return absl::Status(last.status().code(),
                        absl::StrCat("following rollout ", rollout.id(), " of ", rollout.app(),
                                     ": ", last.status().message()));
  }
  return ReportRollout(*last, context);
}

}  // namespace pyservice::cli
