#include "common/tls/x509_fields.h"

#include <openssl/asn1.h>
#include <openssl/crypto.h>
#include <openssl/pem.h>

#include <ctime>
#include <optional>

#include "absl/strings/ascii.h"
#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "absl/time/civil_time.h"
#include "common/status/status_macros.h"

namespace pyservice::tls {
namespace {

absl::Status Failed(absl::string_view what) {
  return absl::InternalError(absl::StrCat(what, ": ", OpenSslErrors()));
}

absl::StatusOr<absl::Time> ToTime(const ASN1_TIME* time) {
  struct tm parts = {};
  if (time == nullptr || ASN1_TIME_to_tm(time, &parts) != 1) {
    return absl::InvalidArgumentError("certificate: unreadable validity date");
  }
  return absl::FromCivil(
      absl::CivilSecond(parts.tm_year + 1900, parts.tm_mon + 1, parts.tm_mday,
                        parts.tm_hour, parts.tm_min, parts.tm_sec),
      absl::UTCTimeZone());
}

std::string CommonName(const X509_NAME* name) {
  const int index = X509_NAME_get_index_by_NID(name, NID_commonName, -1);
  if (index < 0) return "";
  const ASN1_STRING* value =
      X509_NAME_ENTRY_get_data(X509_NAME_get_entry(name, index));
  unsigned char* utf8 = nullptr;
  const int size = ASN1_STRING_to_UTF8(&utf8, value);
  if (size < 0) return "";
  std::string text(reinterpret_cast<char*>(utf8), static_cast<size_t>(size));
  OPENSSL_free(utf8);
  return text;
}

absl::StatusOr<std::string> SerialHex(const X509& certificate) {
  BignumPtr serial(
      ASN1_INTEGER_to_BN(X509_get0_serialNumber(&certificate), nullptr));
  char* hex = serial == nullptr ? nullptr : BN_bn2hex(serial.get());
  if (hex == nullptr) return Failed("certificate: cannot read the serial");
  std::string text = absl::AsciiStrToLower(hex);
  OPENSSL_free(hex);
  return text;
}

absl::Status SetRandomSerial(X509& certificate) {
  // 128 random bits: unpredictable (RFC 5280 asks for at least 64) and
  // unique without keeping a counter. BN_rand's value is never negative.
  BignumPtr serial(BN_new());
  if (serial == nullptr ||
      BN_rand(serial.get(), 128, BN_RAND_TOP_ANY, BN_RAND_BOTTOM_ANY) != 1) {
    return Failed("cannot draw a serial number");
  }
  if (BN_is_zero(serial.get())) BN_one(serial.get());  // positive, not zero
  if (BN_to_ASN1_INTEGER(serial.get(), X509_get_serialNumber(&certificate)) ==
      nullptr) {
    return Failed("cannot set the serial number");
  }
  return absl::OkStatus();
}

}  // namespace

absl::StatusOr<X509Ptr> SignCertificate(const CertificateFields& fields,
                                        EVP_PKEY& subject_key,
                                        const X509* issuer,
                                        EVP_PKEY& issuer_key) {
  X509Ptr certificate(X509_new());
  X509NamePtr subject(X509_NAME_new());
  if (certificate == nullptr || subject == nullptr) return Failed("X509_new");
  if (X509_set_version(certificate.get(), X509_VERSION_3) != 1 ||
      X509_NAME_add_entry_by_NID(
          subject.get(), NID_commonName, MBSTRING_UTF8,
          reinterpret_cast<const unsigned char*>(fields.common_name.c_str()),
          -1, -1, 0) != 1 ||
      X509_set_subject_name(certificate.get(), subject.get()) != 1 ||
      X509_set_issuer_name(certificate.get(),
                           issuer != nullptr ? X509_get_subject_name(issuer)
                                             : subject.get()) != 1 ||
      ASN1_TIME_set(X509_getm_notBefore(certificate.get()),
                    absl::ToTimeT(fields.not_before)) == nullptr ||
      ASN1_TIME_set(X509_getm_notAfter(certificate.get()),
                    absl::ToTimeT(fields.not_after)) == nullptr ||
      X509_set_pubkey(certificate.get(), &subject_key) != 1) {
    return Failed("cannot fill in the certificate");
  }
  RETURN_IF_ERROR(SetRandomSerial(*certificate));
  // The context lets "hash" and "keyid" values find the keys they derive
  // from (subject and authority key identifiers).
  X509V3_CTX context;
  X509V3_set_ctx_nodb(&context);
  X509V3_set_ctx(&context,
                 issuer != nullptr ? const_cast<X509*>(issuer)
                                   : certificate.get(),
                 certificate.get(), nullptr, nullptr, 0);
  for (const auto& [nid, value] : fields.extensions) {
    X509ExtensionPtr extension(
        X509V3_EXT_conf_nid(nullptr, &context, nid, value.c_str()));
    if (extension == nullptr ||
        X509_add_ext(certificate.get(), extension.get(), -1) != 1) {
      return Failed(absl::StrCat("cannot add extension ", OBJ_nid2sn(nid),
                                 " = ", value));
    }
  }
  if (X509_sign(certificate.get(), &issuer_key, EVP_sha256()) <= 0) {
    return Failed("cannot sign the certificate");
  }
  return certificate;
}

absl::StatusOr<std::string> CertificateToPem(X509& certificate) {
  BioPtr bio(BIO_new(BIO_s_mem()));
  if (bio == nullptr || PEM_write_bio_X509(bio.get(), &certificate) != 1) {
    return Failed("cannot write the certificate as PEM");
  }
  return MemoryBioText(*bio);
}

absl::StatusOr<CertificateInfo> ReadCertificateInfo(const X509& certificate) {
  CertificateInfo info;
  info.common_name = CommonName(X509_get_subject_name(&certificate));
  ASSIGN_OR_RETURN(info.not_before, ToTime(X509_get0_notBefore(&certificate)));
  ASSIGN_OR_RETURN(info.not_after, ToTime(X509_get0_notAfter(&certificate)));
  ASSIGN_OR_RETURN(info.serial, SerialHex(certificate));
  return info;
}

absl::StatusOr<PkeyPtr> VerifiedRequestKey(X509_REQ& request) {
  // X509_REQ_get_pubkey returns its own reference.
  PkeyPtr key(X509_REQ_get_pubkey(&request));
  if (key == nullptr) {
    return absl::InvalidArgumentError("certificate request: no public key");
  }
  // Proof of possession: only the key's holder can sign the request.
  if (X509_REQ_verify(&request, key.get()) != 1) {
    return absl::InvalidArgumentError(
        "certificate request: signature does not verify");
  }
  if (EVP_PKEY_get_security_bits(key.get()) < 112) {
    return absl::InvalidArgumentError(absl::StrCat(
        "certificate request: the key is too weak (",
        EVP_PKEY_get_security_bits(key.get()),
        " bits of security; want EC P-256 or RSA 2048 or better)"));
  }
  return key;
}

std::optional<std::string> AgentHostOf(const X509& certificate) {
  GeneralNamesPtr names(static_cast<GENERAL_NAMES*>(X509_get_ext_d2i(
      &certificate, NID_subject_alt_name, nullptr, nullptr)));
  for (int i = 0; names != nullptr && i < sk_GENERAL_NAME_num(names.get());
       ++i) {
    const GENERAL_NAME* name = sk_GENERAL_NAME_value(names.get(), i);
    if (name->type != GEN_URI) continue;
    const absl::string_view uri(
        reinterpret_cast<const char*>(ASN1_STRING_get0_data(name->d.ia5)),
        static_cast<size_t>(ASN1_STRING_length(name->d.ia5)));
    if (absl::StartsWith(uri, kAgentUriPrefix) &&
        uri.size() > kAgentUriPrefix.size()) {
      return std::string(uri.substr(kAgentUriPrefix.size()));
    }
  }
  return std::nullopt;
}

}  // namespace pyservice::tls
