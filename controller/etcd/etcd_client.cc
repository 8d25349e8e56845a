#include "controller/etcd/etcd_client.h"

#include <chrono>
#include <memory>
#include <string>
#include <utility>
#include <vector>

#include "absl/status/status.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "absl/strings/str_split.h"
#include "absl/strings/strip.h"
#include "common/status/grpc_status.h"
#include "grpcpp/client_context.h"
#include "grpcpp/create_channel.h"
#include "grpcpp/security/credentials.h"

namespace pyservice::controller::etcd {

namespace {

constexpr absl::string_view kScheme = "etcd://";

absl::Status CheckEndpoint(absl::string_view endpoint) {
  const size_t colon = endpoint.rfind(':');
  uint32_t port = 0;
  if (colon == absl::string_view::npos || colon == 0 ||
      !absl::SimpleAtoi(endpoint.substr(colon + 1), &port) || port == 0 || port > 65535) {
    return absl::InvalidArgumentError(
        absl::StrCat("etcd endpoint \"", endpoint, "\" is not HOST:PORT"));
  }
  return absl::OkStatus();
}

}  // namespace

absl::StatusOr<std::vector<std::string>> ParseEtcdUrl(absl::string_view url) {
  absl::string_view rest = url;
  if (!absl::ConsumePrefix(&rest, kScheme)) {
    return absl::InvalidArgumentError(
        absl::StrCat("store \"", url, "\": an etcd store is etcd://HOST:PORT[,HOST:PORT...]"));
  }
  std::vector<std::string> endpoints;
  for (absl::string_view endpoint : absl::StrSplit(rest, ',')) {
    if (absl::Status valid = CheckEndpoint(endpoint); !valid.ok()) {
      return absl::InvalidArgumentError(absl::StrCat("store \"", url, "\": ", valid.message()));
    }
    endpoints.emplace_back(endpoint);
  }
  return endpoints;
}

std::string PrefixRangeEnd(absl::string_view prefix) {
  std::string end(prefix);
  // Drop trailing 0xff bytes, then increment the last byte; an all-0xff
  // (or empty) prefix means "to the end of the key space", "\0" in etcd.
  while (!end.empty() && static_cast<unsigned char>(end.back()) == 0xff) end.pop_back();
  if (end.empty()) return std::string(1, '\0');
  end.back() = static_cast<char>(static_cast<unsigned char>(end.back()) + 1);
  return end;
}

absl::StatusOr<std::unique_ptr<EtcdClient>> EtcdClient::Create(
    const std::vector<std::string>& endpoints, absl::Duration call_timeout) {
  if (endpoints.empty()) return absl::InvalidArgumentError("no etcd endpoints");
  std::vector<Member> members;
  for (const std::string& endpoint : endpoints) {
    if (absl::Status valid = CheckEndpoint(endpoint); !valid.ok()) return valid;
    grpc::ChannelArguments args;
    // etcd's own limit for a request is 1.5 MiB; answers (a range of every
    // revision) can be larger.
    args.SetMaxReceiveMessageSize(64 << 20);
    // gRPC's reconnect backoff grows to 2 minutes: a member restarted after
    // a minute would be skipped for as long. Members are few and local.
    args.SetInt(GRPC_ARG_INITIAL_RECONNECT_BACKOFF_MS, 100);
    // Not GRPC_ARG_MIN_RECONNECT_BACKOFF_MS: it is also the connect
    // timeout, and a short one fails handshakes on a loaded machine.
    args.SetInt(GRPC_ARG_MAX_RECONNECT_BACKOFF_MS, 1000);
    std::shared_ptr<grpc::Channel> channel =
        grpc::CreateCustomChannel(endpoint, grpc::InsecureChannelCredentials(), args);
    members.push_back(Member{endpoint, etcdserverpb::KV::NewStub(channel),
                             etcdserverpb::Lease::NewStub(channel)});
  }
  return absl::WrapUnique(new EtcdClient(endpoints, std::move(members), call_timeout));
}

template <typename Response, typename Call>
absl::StatusOr<Response> EtcdClient::OnAnyMember(absl::string_view method, Call call) {
  size_t first;
  {
    absl::MutexLock lock(&mu_);
    first = preferred_;
  }
  std::vector<std::string> answers;
  for (size_t i = 0; i < members_.size(); ++i) {
    const size_t index = (first + i) % members_.size();
    const Member& member = members_[index];
    grpc::ClientContext context;
    context.set_deadline(std::chrono::system_clock::now() +
                         absl::ToChronoMilliseconds(call_timeout_));
    Response response;
    const grpc::Status status = call(member, context, response);
    if (status.ok()) {
      absl::MutexLock lock(&mu_);
      preferred_ = index;
      return response;
    }
    const grpc::StatusCode code = status.error_code();
    if (code != grpc::StatusCode::UNAVAILABLE && code != grpc::StatusCode::DEADLINE_EXCEEDED) {
      return absl::Status(FromGrpcStatus(status).code(),
                          absl::StrCat("etcd ", method, " at ", member.endpoint, ": ",
                                       status.error_message()));
    }
    answers.push_back(absl::StrCat(member.endpoint, ": ", status.error_message()));
  }
  return absl::UnavailableError(absl::StrCat("etcd ", method, ": no member answered (",
                                             absl::StrJoin(answers, "; "), ")"));
}

absl::StatusOr<etcdserverpb::RangeResponse> EtcdClient::Range(
    const etcdserverpb::RangeRequest& request) {
  return OnAnyMember<etcdserverpb::RangeResponse>(
      "Range", [&](const Member& m, grpc::ClientContext& c, etcdserverpb::RangeResponse& r) {
        return m.kv->Range(&c, request, &r);
      });
}

absl::StatusOr<etcdserverpb::TxnResponse> EtcdClient::Txn(
    const etcdserverpb::TxnRequest& request) {
  return OnAnyMember<etcdserverpb::TxnResponse>(
      "Txn", [&](const Member& m, grpc::ClientContext& c, etcdserverpb::TxnResponse& r) {
        return m.kv->Txn(&c, request, &r);
      });
}

absl::StatusOr<etcdserverpb::PutResponse> EtcdClient::Put(
    const etcdserverpb::PutRequest& request) {
  return OnAnyMember<etcdserverpb::PutResponse>(
      "Put", [&](const Member& m, grpc::ClientContext& c, etcdserverpb::PutResponse& r) {
        return m.kv->Put(&c, request, &r);
      });
}

absl::StatusOr<etcdserverpb::DeleteRangeResponse> EtcdClient::DeleteRange(
    const etcdserverpb::DeleteRangeRequest& request) {
  return OnAnyMember<etcdserverpb::DeleteRangeResponse>(
      "DeleteRange",
      [&](const Member& m, grpc::ClientContext& c, etcdserverpb::DeleteRangeResponse& r) {
        return m.kv->DeleteRange(&c, request, &r);
      });
}

absl::StatusOr<int64_t> EtcdClient::LeaseGrant(absl::Duration ttl) {
  etcdserverpb::LeaseGrantRequest request;
  request.set_ttl(std::max<int64_t>(1, absl::ToInt64Seconds(ttl)));
  absl::StatusOr<etcdserverpb::LeaseGrantResponse> response =
      OnAnyMember<etcdserverpb::LeaseGrantResponse>(
          "LeaseGrant",
          [&](const Member& m, grpc::ClientContext& c, etcdserverpb::LeaseGrantResponse& r) {
            return m.lease->LeaseGrant(&c, request, &r);
          });
  if (!response.ok()) return response.status();
  if (!response->error().empty()) {
    return absl::UnavailableError(absl::StrCat("etcd LeaseGrant: ", response->error()));
  }
  return response->id();
}

absl::StatusOr<absl::Duration> EtcdClient::LeaseKeepAliveOnce(int64_t id) {
  absl::StatusOr<etcdserverpb::LeaseKeepAliveResponse> response =
      OnAnyMember<etcdserverpb::LeaseKeepAliveResponse>(
          "LeaseKeepAlive",
          [&](const Member& m, grpc::ClientContext& c,
              etcdserverpb::LeaseKeepAliveResponse& r) {
            // One request and one answer per stream: a renewal every few
            // seconds does not need a stream kept open across failovers.
            auto stream = m.lease->LeaseKeepAlive(&c);
            etcdserverpb::LeaseKeepAliveRequest request;
            request.set_id(id);
            if (stream->Write(request)) stream->Read(&r);
            stream->WritesDone();
            // Cancel what the server may still send; Finish then returns.
            c.TryCancel();
            grpc::Status status = stream->Finish();
            if (r.has_header()) return grpc::Status::OK;
            return status.ok() ? grpc::Status(grpc::StatusCode::UNAVAILABLE, "no answer")
                               : status;
          });
  if (!response.ok()) return response.status();
  if (response->ttl() <= 0) {
    return absl::NotFoundError(absl::StrCat("etcd lease ", id, " expired or was revoked"));
  }
  return absl::Seconds(response->ttl());
}

absl::Status EtcdClient::LeaseRevoke(int64_t id) {
  etcdserverpb::LeaseRevokeRequest request;
  request.set_id(id);
  return OnAnyMember<etcdserverpb::LeaseRevokeResponse>(
             "LeaseRevoke",
             [&](const Member& m, grpc::ClientContext& c,
                 etcdserverpb::LeaseRevokeResponse& r) {
               return m.lease->LeaseRevoke(&c, request, &r);
             })
      .status();
}

}  // namespace pyservice::controller::etcd
