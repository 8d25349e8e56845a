// The canonical text of a spec: every field, defaults included, in a fixed
// order. One form serves every purpose: the digest that recognises an
// identical re-apply, the diff shown by `pyctl apply`, `pyctl describe`.
// Secrets (ssh_key, file contents, !secret config values, repo URL
// credentials) appear in it in one of three ways: as written (what agents
// compare; never shown), as short keyed fingerprints (what is shown), or as
// full keyed fingerprints (what the controller's digest hashes).
#ifndef PYSERVICE_COMMON_SPEC_CANONICAL_H_
#define PYSERVICE_COMMON_SPEC_CANONICAL_H_

#include <string>

#include "common/spec/fingerprint.h"
#include "pyservice/v1/spec.pb.h"

namespace pyservice::spec {

// YAML text, secrets as written; equal specs give byte-identical text.
// Never shown to anyone.
std::string CanonicalYaml(const v1::AppSpec& spec);

// The text operators see: every secret replaced by
// fingerprints.Redacted(secret), a repo URL's credentials by "***" (with
// their fingerprint on a `repo_credentials` line, so a changed token shows
// in a diff).
std::string RedactedCanonicalYaml(const v1::AppSpec& spec,
                                  const SecretFingerprinter& fingerprints);

// A copy of `spec` with its secrets replaced by fingerprints and its repo
// URL's credentials by "***", for anything shown to operators.
v1::AppSpec RedactSecrets(const v1::AppSpec& spec, const SecretFingerprinter& fingerprints);

// The controller's digest of a revision, which every viewer sees:
// "sha256:<64 hex>" of the canonical text with every secret replaced by
// fingerprints.Full(secret). Without the key it tells nothing about the
// secrets, so it cannot be used to test guesses of them.
std::string SpecDigest(const v1::AppSpec& spec, const SecretFingerprinter& fingerprints);

// A host's own digest of a spec it deploys without a controller (the
// agent's local `apply`, or a controller that sends no digest):
// "sha256:<64 hex>" of CanonicalYaml(spec). It hashes the secrets
// themselves, so it never leaves the host.
std::string UnkeyedSpecDigest(const v1::AppSpec& spec);

// Whether `a` and `b` deploy the same thing (equal canonical texts),
// whatever digest each was labelled with.
bool SameSpec(const v1::AppSpec& a, const v1::AppSpec& b);

}  // namespace pyservice::spec

#endif  // PYSERVICE_COMMON_SPEC_CANONICAL_H_
