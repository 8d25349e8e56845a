#include "common/tls/plaintext.h"

#include <spdlog/spdlog.h>

#include <string>

#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"

namespace pyservice::tls {

bool IsUnixAddress(absl::string_view address) {
  constexpr absl::string_view kScheme = "unix:";
  return absl::StartsWith(address, kScheme) && address.size() > kScheme.size();
}

absl::Status CheckPlaintextAllowed(absl::string_view address,
                                   bool insecure_flag) {
  if (insecure_flag || IsUnixAddress(address)) return absl::OkStatus();
  return absl::InvalidArgumentError(absl::StrCat(
      "refusing plaintext gRPC on \"", address,
      "\": anyone on the network could read and forge it. Configure TLS "
      "(certificate, key and CA files; deploy/tls/make-test-ca.sh makes test "
      "ones), use a unix: socket address, or pass --insecure to allow "
      "plaintext anyway"));
}

namespace {

absl::Status CheckAndWarn(absl::string_view address, bool insecure_flag,
                          absl::string_view what) {
  if (absl::Status status = CheckPlaintextAllowed(address, insecure_flag);
      !status.ok()) {
    return status;
  }
  if (!IsUnixAddress(address)) {
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
