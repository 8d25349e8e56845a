#include "controller/service/host_listing.h"

#include <utility>
#include <vector>

#include "controller/service/fleet_views.h"
#include "pyservice/v1/controller.pb.h"

namespace pyservice::controller {

std::string HostListing::SerializedResponse() {
  absl::MutexLock lock(&mu_);
  // In the registry's order (by name). Hosts whose bytes are stale are
  // copied out and built after its lock is released, so agents' messages
  // do not wait for the first listing of a large fleet.
  std::vector<Entry*> listed;
  std::vector<std::pair<Entry*, fleet::HostSummary>> stale;
  registry_.ForEachListedHost([&](const fleet::ListedHost& host) {
    const Shown shown{.hello_generation = host.hello_generation,
                      .last_seen_second = absl::ToUnixSeconds(host.last_seen),
                      .connected = host.connected,
                      .lost = host.lost,
                      .apps = host.apps};
    auto [it, inserted] = entries_.try_emplace(host.name);
    Entry& entry = it->second;
    listed.push_back(&entry);
    if (!inserted && entry.shown == shown) return;
    entry.shown = shown;
    stale.emplace_back(&entry, host.Summary());
  });
  for (auto& [entry, summary] : stale) {
    v1::ListHostsResponse alone;
    *alone.add_hosts() = ToApiHost(summary);
    entry->bytes = alone.SerializeAsString();
  }
  size_t size = 0;
  for (const Entry* entry : listed) size += entry->bytes.size();
  std::string out;
  out.reserve(size);
  for (const Entry* entry : listed) out += entry->bytes;
  return out;
}

}  // namespace pyservice::controller
