// The canonical text of a spec: every field, defaults included, in a fixed
// order. One form serves three purposes: the digest that recognises an
// identical re-apply, the diff shown by `pyctl apply`, and `pyctl describe`.
#ifndef PYSERVICE_COMMON_SPEC_CANONICAL_H_
#define PYSERVICE_COMMON_SPEC_CANONICAL_H_

#include <string>

#include "pyservice/v1/spec.pb.h"

namespace pyservice::spec {

enum class Secrets {
  kInclude,  // the exact form hashed by SpecDigest; never shown to anyone
  kRedact,   // ssh_key, file contents and !secret config values replaced by a
             // short fingerprint
};

// YAML text; equal specs give byte-identical text.
std::string CanonicalYaml(const v1::AppSpec& spec, Secrets secrets);

// A copy of `spec` with its secrets (ssh_key, file contents, !secret config
// values) replaced by fingerprints, for anything shown to operators.
v1::AppSpec RedactSecrets(const v1::AppSpec& spec);

// "sha256:<64 hex>" of CanonicalYaml(spec, Secrets::kInclude).
std::string SpecDigest(const v1::AppSpec& spec);

}  // namespace pyservice::spec

#endif  // PYSERVICE_COMMON_SPEC_CANONICAL_H_
