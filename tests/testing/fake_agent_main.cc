// fake_agent: one FakeAgent (fake_agent.h) as a process of its own, for
// tests that need an agent they can stop with SIGSTOP (keepalive) or kill.
//   fake_agent ADDRESS HOST
// Prints "welcomed HOST" on stderr once the controller answered its Hello,
// then holds the stream open until killed; exits 1 if the stream ends.
#include <cstdio>

#include "tests/testing/fake_agent.h"

int main(int argc, char** argv) {
  if (argc != 3) {
    std::fprintf(stderr, "usage: fake_agent ADDRESS HOST\n");
    return 2;
  }
  pyservice::testing::FakeAgentOptions options;
  options.address = argv[1];
  options.host = argv[2];
  absl::StatusOr<std::unique_ptr<pyservice::testing::FakeAgent>> agent =
      pyservice::testing::FakeAgent::Start(options);
  if (!agent.ok()) {
    std::fprintf(stderr, "cannot start: %s\n", agent.status().ToString().c_str());
    return 1;
  }
  absl::StatusOr<pyservice::v1::Welcome> welcome = (*agent)->WaitForWelcome();
  if (!welcome.ok()) {
    std::fprintf(stderr, "no welcome: %s\n", welcome.status().ToString().c_str());
    return 1;
  }
  std::fprintf(stderr, "welcomed %s\n", argv[2]);
  const absl::StatusOr<grpc::Status> end = (*agent)->WaitForEnd(absl::InfiniteDuration());
  std::fprintf(stderr, "stream ended: %s\n", end.ok() ? end->error_message().c_str() : "?");
  return 1;
}
