// The parts of pyctl(1) its command tree cannot say (common/cli_docs/).
#ifndef PYSERVICE_CLI_MAN_PAGE_INFO_H_
#define PYSERVICE_CLI_MAN_PAGE_INFO_H_

#include "common/cli_docs/man_page.h"

namespace pyservice::cli {

cli_docs::ManPageInfo PyctlManPage();

}  // namespace pyservice::cli

#endif  // PYSERVICE_CLI_MAN_PAGE_INFO_H_
