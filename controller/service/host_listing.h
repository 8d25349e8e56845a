// `pyctl get hosts` (ListHosts) at fleet scale. Building, serializing and
// destroying 10,000 Host messages with a label map each cost the controller
// ~30 ms per call; here each host's Host is serialized once, again only when
// what it shows changed (a Hello, connected or lost, its app count, the
// second of last_seen), and an answer is those bytes back to back. That is
// a serialized ListHostsResponse: serialized messages of one type
// concatenated parse as their merge, and `hosts` is a repeated field.
#ifndef PYSERVICE_CONTROLLER_SERVICE_HOST_LISTING_H_
#define PYSERVICE_CONTROLLER_SERVICE_HOST_LISTING_H_

#include <cstdint>
#include <string>

#include "absl/base/thread_annotations.h"
#include "absl/container/node_hash_map.h"
#include "absl/synchronization/mutex.h"
#include "controller/fleet/fleet_registry.h"

namespace pyservice::controller {

class HostListing {
 public:
  // `registry` must outlive the listing.
  explicit HostListing(const fleet::FleetRegistry& registry) : registry_(registry) {}

  // A serialized v1::ListHostsResponse: every known host, by name.
  std::string SerializedResponse();

 private:
  // What of a host its cached bytes show, as keys to compare: the rest of
  // it (labels, agent version, first_seen) changes only with its
  // hello_generation.
  struct Shown {
    uint64_t hello_generation = 0;
    int64_t last_seen_second = 0;
    bool connected = false;
    bool lost = false;
    size_t apps = 0;
    bool operator==(const Shown&) const = default;
  };
  struct Entry {
    Shown shown;
    // A ListHostsResponse holding this host alone, serialized.
    std::string bytes;
  };

  const fleet::FleetRegistry& registry_;
  absl::Mutex mu_;
  // By host name; the registry never forgets a host. Node-based: an Entry
  // stays where it is while others are added.
  absl::node_hash_map<std::string, Entry> entries_ ABSL_GUARDED_BY(mu_);
};

}  // namespace pyservice::controller

#endif  // PYSERVICE_CONTROLLER_SERVICE_HOST_LISTING_H_
