// The parts of pyservice-agent(8) its command tree cannot say
// (common/cli_docs/).
#ifndef PYSERVICE_AGENT_MAN_PAGE_INFO_H_
#define PYSERVICE_AGENT_MAN_PAGE_INFO_H_

#include "common/cli_docs/man_page.h"

namespace pyservice::agent {

cli_docs::ManPageInfo AgentManPage();

}  // namespace pyservice::agent

#endif  // PYSERVICE_AGENT_MAN_PAGE_INFO_H_
