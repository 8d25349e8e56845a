// The parts of pyservice-controller(8) its command tree cannot say
// (common/cli_docs/).
#ifndef PYSERVICE_CONTROLLER_MAN_PAGE_INFO_H_
#define PYSERVICE_CONTROLLER_MAN_PAGE_INFO_H_

#include "common/cli_docs/man_page.h"

namespace pyservice::controller {

cli_docs::ManPageInfo ControllerManPage();

}  // namespace pyservice::controller

#endif  // PYSERVICE_CONTROLLER_MAN_PAGE_INFO_H_
