#include "common/tls/credentials.h"

#include <grpc/grpc_security_constants.h>

#include <string>
#include <utility>

#include "absl/status/status.h"
#include "absl/strings/str_cat.h"
#include "common/status/status_macros.h"
#include "common/tls/pem.h"

namespace pyservice::tls {

absl::StatusOr<std::shared_ptr<grpc::ServerCredentials>> MakeServerCredentials(
    const TlsServerOptions& options) {
  if (options.cert_file.empty() || options.key_file.empty()) {
    return absl::InvalidArgumentError(
        "TLS server: a certificate file and its private key file are both "
        "required");
  }
  if (options.require_client_cert && options.client_ca_file.empty()) {
    return absl::InvalidArgumentError(
        "TLS server: client certificates are required, but no client CA file "
        "is given to verify them against");
  }
  ASSIGN_OR_RETURN(
      std::string cert,
      ReadPemCertificates("TLS server certificate", options.cert_file));
  ASSIGN_OR_RETURN(std::string key, ReadPemPrivateKey("TLS server private key",
                                                      options.key_file));
  RETURN_IF_ERROR(CheckKeyMatchesCertificate(cert, options.cert_file, key,
                                             options.key_file));

  grpc::SslServerCredentialsOptions ssl(
      GRPC_SSL_DONT_REQUEST_CLIENT_CERTIFICATE);
  if (!options.client_ca_file.empty()) {
    ASSIGN_OR_RETURN(ssl.pem_root_certs,
                     ReadPemCertificates("TLS client CA certificate",
                                         options.client_ca_file));
    // Only the *_AND_VERIFY modes: PeerIdentity() relies on every
    // certificate in the auth context having been verified.
    ssl.client_certificate_request =
        options.require_client_cert
            ? GRPC_SSL_REQUEST_AND_REQUIRE_CLIENT_CERTIFICATE_AND_VERIFY
            : GRPC_SSL_REQUEST_CLIENT_CERTIFICATE_AND_VERIFY;
  }
  if (options.application_verifies_client_certs) {
    if (!options.client_ca_file.empty() || options.require_client_cert) {
      return absl::InvalidArgumentError(
          "TLS server: application-verified client certificates exclude client_ca_file and "
          "require_client_cert");
    }
    ssl.pem_root_certs = options.client_ca_pem;
    ssl.client_certificate_request = GRPC_SSL_REQUEST_CLIENT_CERTIFICATE_BUT_DONT_VERIFY;
  }
  ssl.pem_key_cert_pairs.push_back(
      grpc::SslServerCredentialsOptions::PemKeyCertPair{std::move(key),
                                                        std::move(cert)});
  return grpc::SslServerCredentials(ssl);
}

absl::StatusOr<std::shared_ptr<grpc::ChannelCredentials>> MakeChannelCredentials(
    const TlsClientOptions& options) {
  if (options.ca_file.empty()) {
    return absl::InvalidArgumentError(
        "TLS client: a CA file is required to verify the server's "
        "certificate");
  }
  if (options.cert_file.empty() != options.key_file.empty()) {
    return absl::InvalidArgumentError(absl::StrCat(
        "TLS client: a client certificate needs both a certificate file and "
        "its private key file; only the ",
        options.cert_file.empty() ? "key (" : "certificate (",
        options.cert_file.empty() ? options.key_file : options.cert_file,
        ") is given"));
  }
  grpc::SslCredentialsOptions ssl;
  ASSIGN_OR_RETURN(ssl.pem_root_certs,
                   ReadPemCertificates("TLS CA certificate", options.ca_file));
  if (!options.cert_file.empty()) {
    ASSIGN_OR_RETURN(ssl.pem_cert_chain,
                     ReadPemCertificates("TLS client certificate",
                                         options.cert_file));
    ASSIGN_OR_RETURN(ssl.pem_private_key,
                     ReadPemPrivateKey("TLS client private key",
                                       options.key_file));
    RETURN_IF_ERROR(CheckKeyMatchesCertificate(
        ssl.pem_cert_chain, options.cert_file, ssl.pem_private_key,
        options.key_file));
  }
  return grpc::SslCredentials(ssl);
}

void ApplyTlsChannelArguments(const TlsClientOptions& options,
                              grpc::ChannelArguments* args) {
  if (!options.server_name_override.empty()) {
    args->SetSslTargetNameOverride(options.server_name_override);
  }
}

}  // namespace pyservice::tls
