// The dashboard page's files, compiled in from controller/dashboard/assets/
// (embed_assets.cmake generates the definitions at build time).
#ifndef PYSERVICE_CONTROLLER_DASHBOARD_DASHBOARD_ASSETS_H_
#define PYSERVICE_CONTROLLER_DASHBOARD_DASHBOARD_ASSETS_H_

#include "absl/strings/string_view.h"

namespace pyservice::controller::dashboard {

absl::string_view IndexHtml();
absl::string_view DashboardJs();
absl::string_view DashboardCss();

}  // namespace pyservice::controller::dashboard

#endif  // PYSERVICE_CONTROLLER_DASHBOARD_DASHBOARD_ASSETS_H_
