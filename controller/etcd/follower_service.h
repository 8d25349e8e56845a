// What a follower controller serves on its --listen addresses while another
// leads: every call, whatever its method, ends at once with UNAVAILABLE
// "not the leader: the leader is ADDR". UNAVAILABLE is the code for "try
// elsewhere": agents and pyctl given several controller addresses move on
// to the next (docs/INTERFACES.md); an operator reading it knows where to
// go. Followers do not proxy: a proxy would keep a dead leader's clients
// waiting on it, and the refusal costs one round trip.
#ifndef PYSERVICE_CONTROLLER_ETCD_FOLLOWER_SERVICE_H_
#define PYSERVICE_CONTROLLER_ETCD_FOLLOWER_SERVICE_H_

#include <string>

#include "absl/base/thread_annotations.h"
#include "absl/synchronization/mutex.h"
#include "grpcpp/generic/async_generic_service.h"
#include "grpcpp/support/server_callback.h"

namespace pyservice::controller::etcd {

class FollowerService final : public grpc::CallbackGenericService {
 public:
  // The leader named in refusals; "" while none is known.
  void SetLeader(const std::string& leader) ABSL_LOCKS_EXCLUDED(mu_);
  // The message every call fails with.
  std::string Refusal() const ABSL_LOCKS_EXCLUDED(mu_);

  grpc::ServerGenericBidiReactor* CreateReactor(grpc::GenericCallbackServerContext* context) override;

 private:
  mutable absl::Mutex mu_;
  std::string leader_ ABSL_GUARDED_BY(mu_);
};

}  // namespace pyservice::controller::etcd

#endif  // PYSERVICE_CONTROLLER_ETCD_FOLLOWER_SERVICE_H_
