#include "common/tls/plaintext.h"

#include <arpa/inet.h>
#include <spdlog/spdlog.h>

#include <algorithm>
#include <iterator>
#include <string>

#include "absl/strings/match.h"
#include "absl/strings/strip.h"
#include "absl/strings/str_cat.h"

namespace pyservice::tls {

bool IsUnixAddress(absl::string_view address) {
  constexpr absl::string_view kScheme = "unix:";
  return absl::StartsWith(address, kScheme) && address.size() > kScheme.size();
}

bool IsLoopbackAddress(absl::string_view address) {
  for (absl::string_view scheme : {"dns:///", "ipv4:", "ipv6:"}) {
    if (absl::ConsumePrefix(&address, scheme)) break;
  }
  std::string host;
  if (absl::ConsumePrefix(&address, "[")) {
    const size_t close = address.find(']');
    if (close == absl::string_view::npos) return false;
    host = std::string(address.substr(0, close));
    address.remove_prefix(close + 1);
    if (!absl::StartsWith(address, ":")) return false;
  } else {
    const size_t colon = address.rfind(':');
    if (colon == absl::string_view::npos) return false;
    host = std::string(address.substr(0, colon));
  }
  unsigned char bytes[16];
  if (inet_pton(AF_INET, host.c_str(), bytes) == 1) return bytes[0] == 127;
  if (inet_pton(AF_INET6, host.c_str(), bytes) == 1) {
    static constexpr unsigned char kLoopback6[16] = {0, 0, 0, 0, 0, 0, 0, 0,
                                                     0, 0, 0, 0, 0, 0, 0, 1};
    return std::equal(std::begin(bytes), std::end(bytes), kLoopback6);
  }
  return false;
}

absl::Status CheckPlaintextAllowed(absl::string_view address,
                                   bool insecure_flag) {
  if (insecure_flag || IsUnixAddress(address) || IsLoopbackAddress(address)) {
    return absl::OkStatus();
  }
  return absl::InvalidArgumentError(absl::StrCat(
      "refusing plaintext gRPC on \"", address,
      "\": anyone on the network could read and forge it. Configure TLS "
      "(certificate, key and CA files; deploy/tls/make-test-ca.sh makes test "
      "ones), use a unix: socket or loopback address, or pass --insecure to allow "
      "plaintext anyway"));
}

namespace {

absl::Status CheckAndWarn(absl::string_view address, bool insecure_flag,
                          absl::string_view what) {
  if (absl::Status status = CheckPlaintextAllowed(address, insecure_flag);
      !status.ok()) {
    return status;
  }
  if (!IsUnixAddress(address) && !IsLoopbackAddress(address)) {
    spdlog::warn(
        "--insecure: {} {} in plaintext, without TLS; anyone on the network "
        "can read and forge this traffic",
        std::string(what), std::string(address));
  }
  return absl::OkStatus();
}

}  // namespace

absl::StatusOr<std::shared_ptr<grpc::ServerCredentials>>
MakeInsecureServerCredentials(absl::string_view listen_address,
                              bool insecure_flag) {
  if (absl::Status status =
          CheckAndWarn(listen_address, insecure_flag, "listening on");
      !status.ok()) {
    return status;
  }
  return grpc::InsecureServerCredentials();
}

absl::StatusOr<std::shared_ptr<grpc::ChannelCredentials>>
MakeInsecureChannelCredentials(absl::string_view target, bool insecure_flag) {
  if (absl::Status status = CheckAndWarn(target, insecure_flag, "connecting to");
      !status.ok()) {
    return status;
  }
  return grpc::InsecureChannelCredentials();
}

}  // namespace pyservice::tls
