#include "agent/enroll/certificate_renewer.h"

#include "common/time/rfc3339.h"
#include "spdlog/spdlog.h"

namespace pyservice::agent {

CertificateRenewer::CertificateRenewer(AgentIdentity& identity, absl::Duration check_interval)
    : identity_(identity), check_interval_(check_interval) {}

CertificateRenewer::~CertificateRenewer() { Stop(); }

void CertificateRenewer::Start() {
  thread_ = std::thread([this] { Run(); });
}

void CertificateRenewer::Stop() {
  {
    absl::MutexLock lock(&mu_);
    stopping_ = true;
  }
  if (thread_.joinable()) thread_.join();
}

void CertificateRenewer::Run() {
  while (true) {
    RenewIfDue();
    absl::MutexLock lock(&mu_);
    mu_.AwaitWithTimeout(absl::Condition(&stopping_), check_interval_);
    if (stopping_) return;
  }
}

void CertificateRenewer::RenewIfDue() {
  if (identity_.NewEnrollmentTokenWaiting()) {
    // The operator enrolls the host again (e.g. after `pyctl host revoke`).
    if (const absl::Status enrolled = identity_.Reenroll(); !enrolled.ok()) {
      spdlog::warn("enrolling again with the new token failed: {}; keeping the current "
                   "certificate", enrolled.ToString());
    }
    return;
  }
  if (!identity_.RenewalDue()) return;
  const absl::Status renewed = identity_.Renew();
  if (renewed.ok()) {
    failures_in_row_ = 0;
    return;
  }
  // A warning for the first failure of a series, then quieter: the
  // controller may be away for hours, and each check would say the same.
  const std::string expiry = FormatRfc3339(identity_.Certificate().not_after);
  if (failures_in_row_++ == 0) {
    spdlog::warn("cannot renew the host certificate (valid until {}): {}; retrying", expiry,
                 renewed.ToString());
  } else {
    spdlog::info("cannot renew the host certificate (valid until {}, attempt {}): {}", expiry,
                 failures_in_row_, renewed.ToString());
  }
}

}  // namespace pyservice::agent
