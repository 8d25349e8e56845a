#include "controller/etcd/follower_service.h"

#include <string>

#include "absl/strings/str_cat.h"

namespace pyservice::controller::etcd {

namespace {

// Finishes at once with the refusal; deletes itself when gRPC is done.
class RefusingReactor final : public grpc::ServerGenericBidiReactor {
 public:
  explicit RefusingReactor(const std::string& refusal) {
    Finish(grpc::Status(grpc::StatusCode::UNAVAILABLE, refusal));
  }
  void OnDone() override { delete this; }
};

}  // namespace

void FollowerService::SetLeader(const std::string& leader) {
  absl::MutexLock lock(&mu_);
  leader_ = leader;
}

std::string FollowerService::Refusal() const {
  absl::MutexLock lock(&mu_);
  if (leader_.empty()) {
    return "not the leader: this controller is a follower and no leader is elected yet; "
           "retry in a few seconds";
  }
  return absl::StrCat("not the leader: the leader is ", leader_);
}

grpc::ServerGenericBidiReactor* FollowerService::CreateReactor(
    grpc::GenericCallbackServerContext* /*context*/) {
  return new RefusingReactor(Refusal());
}

}  // namespace pyservice::controller::etcd
