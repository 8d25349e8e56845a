#include "tests/fuzz/spec_parser_fuzz_body.h"

#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "common/spec/app_spec_parser.h"
#include "common/spec/canonical.h"
#include "common/spec/config_yaml.h"
#include "common/spec/template.h"
#include "common/text/diff.h"
#include "common/text/url_credentials.h"
#include "yaml-cpp/yaml.h"

namespace pyservice::fuzz {
namespace {

// Traps (a crash libFuzzer reports with the input) when `condition` is false.
void Check(bool condition) {
  if (!condition) __builtin_trap();
}

// Any key: what is checked holds for every one.
const spec::SecretFingerprinter kFingerprints("fuzz fingerprint key");

bool IsDigest(absl::string_view digest) {
  constexpr absl::string_view kPrefix = "sha256:";
  if (digest.size() != kPrefix.size() + 64 || digest.substr(0, kPrefix.size()) != kPrefix) {
    return false;
  }
  for (char c : digest.substr(kPrefix.size())) {
    if (!((c >= '0' && c <= '9') || (c >= 'a' && c <= 'f'))) return false;
  }
  return true;
}

}  // namespace

bool FuzzSpecParser(const uint8_t* data, size_t size) {
  const absl::string_view yaml(reinterpret_cast<const char*>(data), size);
  const absl::StatusOr<v1::AppSpec> spec = spec::ParseAppSpec(yaml, "fuzz.yaml");
  if (!spec.ok()) {
    // A refusal must say why.
    Check(spec.status().code() == absl::StatusCode::kInvalidArgument);
    Check(!spec.status().message().empty());
    return false;
  }

  const std::string canonical = spec::CanonicalYaml(*spec);
  const std::string redacted = spec::RedactedCanonicalYaml(*spec, kFingerprints);
  const std::string digest = spec::SpecDigest(*spec, kFingerprints);
  Check(IsDigest(digest));
  Check(!canonical.empty() && canonical.back() == '\n');

  // Deterministic: a second parse of the same bytes is the same spec.
  const absl::StatusOr<v1::AppSpec> again = spec::ParseAppSpec(yaml, "fuzz.yaml");
  Check(again.ok());
  Check(spec::CanonicalYaml(*again) == canonical);
  Check(spec::SpecDigest(*again, kFingerprints) == digest);

  // What the controller stores parses back: protobuf refuses proto3 strings
  // that are not UTF-8.
  v1::AppSpec stored;
  Check(stored.ParseFromString(spec->SerializeAsString()));

  // config_yaml is canonical already (CanonicalYaml re-emits it as is):
  // emitting it again must give the same text and no problem.
  if (!spec->config_yaml().empty()) {
    std::vector<spec::ConfigProblem> problems;
    std::string again;
    try {
      again = spec::EmitConfig(YAML::Load(spec->config_yaml()), {}, problems);
    } catch (const YAML::Exception&) {
      Check(false);
    }
    Check(problems.empty());
    Check(again == spec->config_yaml());
  }

  // The redacted form is the canonical form of the redacted spec (which
  // lost its repo credentials' fingerprint: only the text keeps one).
  if (text::UrlCredentials(spec->repo()).empty()) {
    Check(spec::CanonicalYaml(spec::RedactSecrets(*spec, kFingerprints)) == redacted);
  }


  // The parser checked every template, so expansion cannot fail.
  const absl::StatusOr<v1::AppSpec> expanded = spec::ExpandSpec(*spec);
  Check(expanded.ok());

  // What `pyctl apply` shows: a diff against nothing, and against itself.
  Check(text::UnifiedDiff(redacted, redacted, "a", "b").empty());
  Check(!text::UnifiedDiff("", redacted, "a", "b").empty());
  return true;
}

}  // namespace pyservice::fuzz
