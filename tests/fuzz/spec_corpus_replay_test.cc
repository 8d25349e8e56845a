// Replays the spec parser's seed corpus through the fuzz target's body on
// every build, so the corpus is exercised without clang and each seed's
// expected outcome, written in its name, is checked:
//   ok-*   the document parses (and the target's invariants hold);
//   bad-*  the document is refused with INVALID_ARGUMENT, quickly.
#include <algorithm>
#include <chrono>
#include <cstdint>
#include <filesystem>
#include <fstream>
#include <iterator>
#include <map>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "absl/strings/ascii.h"
#include "absl/strings/match.h"
#include "common/spec/app_spec_parser.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "tests/fuzz/spec_parser_fuzz_body.h"

namespace pyservice::fuzz {
namespace {

using ::testing::HasSubstr;

const std::filesystem::path& CorpusDir() {
  static const auto* const kDir = new std::filesystem::path(
      std::filesystem::path(PYSERVICE_SOURCE_DIR) / "tests/fuzz/corpus/spec_parser");
  return *kDir;
}

// File names of the seeds, sorted; empty when the directory is missing (the
// count test then fails).
std::vector<std::string> SeedNames() {
  std::vector<std::string> names;
  std::error_code error;
  for (const auto& entry : std::filesystem::directory_iterator(CorpusDir(), error)) {
    if (entry.is_regular_file()) names.push_back(entry.path().filename().string());
  }
  std::sort(names.begin(), names.end());
  return names;
}

std::string ReadSeed(const std::string& name) {
  std::ifstream in(CorpusDir() / name, std::ios::binary);
  return std::string(std::istreambuf_iterator<char>(in), std::istreambuf_iterator<char>());
}

// Why each hostile seed must be refused: a part of the expected message.
const std::map<std::string, std::string>& ExpectedReasons() {
  static const auto* const kReasons = new std::map<std::string, std::string>{
      {"bad-alias-as-key.yaml", "config: keys must be plain strings"},
      {"bad-alias-bomb.yaml", "config: more than 100000 values (counting aliases)"},
      {"bad-alias-bomb-long-strings.yaml", "bytes once aliases are expanded"},
      {"bad-alias-chain-deep.yaml", "config: nested too deeply"},
      {"bad-alias-cycle-long-key.yaml", "refusing an alias bomb"},
      {"bad-alias-cycle-map.yaml", "config: nested too deeply"},
      {"bad-alias-cycle-seq.yaml", "config: nested too deeply"},
      {"bad-binary-garbage.bin", "is not valid UTF-8"},
      {"bad-comment-only.yaml", "document is empty"},
      {"bad-config-secret-mapping.yaml", ":5:7: config.db: !secret marks one value"},
      {"bad-deep-nesting-map.yaml", "nested too deeply"},
      {"bad-deep-nesting-seq.yaml", "nested too deeply"},
      {"bad-deep-nesting-unclosed.yaml", "nested too deeply"},
      {"bad-duplicate-config-keys.yaml", ":7:11: config.db.port: duplicate key"},
      {"bad-duplicate-keys.yaml", ":4:1: name: duplicate key"},
      {"bad-empty.yaml", "document is empty"},
      {"bad-invalid-utf8.yaml", ":6:18: byte 0xe9 is not valid UTF-8"},
      {"bad-many-problems.yaml", "... and 350 more problems"},
      {"bad-nul-escape.yaml", "command must not contain control characters"},
      {"bad-raw-nul-byte.yaml", ":6:29: character U+0000 is not allowed"},
      {"bad-scalar-root.yaml", "the document must be a mapping"},
      {"bad-sequence-root.yaml", "the document must be a mapping"},
      {"bad-tabs.yaml", ":5:6: YAML syntax error"},
      {"bad-stray-comma.yaml", ":1:58: YAML syntax error: unexpected \",\""},
      {"bad-stray-comma-fuzzer-timeout.yaml", ":1:10: YAML syntax error: unexpected \",\""},
      {"bad-template-errors.yaml", "unknown variable \"app_modul\""},
      {"bad-two-documents.yaml", "one app per file"},
  };
  return *kReasons;
}

TEST(SpecCorpus, HasAtLeastTwentySeedsOfBothKinds) {
  const std::vector<std::string> names = SeedNames();
  EXPECT_GE(names.size(), 20u) << CorpusDir();
  const auto count = [&](const char* prefix) {
    return std::count_if(names.begin(), names.end(),
                         [&](const std::string& name) { return absl::StartsWith(name, prefix); });
  };
  EXPECT_GE(count("ok-"), 8);
  EXPECT_GE(count("bad-"), 12);
}

TEST(SpecCorpus, EverySeedNameSaysItsOutcomeAndFitsTheFuzzerMaxLen) {
  for (const std::string& name : SeedNames()) {
    EXPECT_TRUE(absl::StartsWith(name, "ok-") || absl::StartsWith(name, "bad-")) << name;
    EXPECT_LT(std::filesystem::file_size(CorpusDir() / name), 64u * 1024) << name;
  }
}

TEST(SpecCorpus, EveryHostileSeedHasAnExpectedReasonAndEveryReasonASeed) {
  const std::vector<std::string> names = SeedNames();
  for (const std::string& name : names) {
    if (absl::StartsWith(name, "bad-")) {
      EXPECT_TRUE(ExpectedReasons().contains(name)) << name << " has no expected reason";
    }
  }
  for (const auto& [name, reason] : ExpectedReasons()) {
    EXPECT_TRUE(std::binary_search(names.begin(), names.end(), name)) << name << " is missing";
  }
}

class SpecSeedTest : public ::testing::TestWithParam<std::string> {};

TEST_P(SpecSeedTest, OutcomeMatchesItsNameWithoutCrashingOrHanging) {
  const std::string& name = GetParam();
  const std::string data = ReadSeed(name);
  const bool expect_ok = absl::StartsWith(name, "ok-");

  const auto start = std::chrono::steady_clock::now();
  // Traps (and fails the whole binary) if an invariant breaks.
  const bool accepted = FuzzSpecParser(reinterpret_cast<const uint8_t*>(data.data()), data.size());
  const auto elapsed = std::chrono::steady_clock::now() - start;

  EXPECT_EQ(accepted, expect_ok);
  // Every seed takes milliseconds; seconds would be a hang in the making.
  EXPECT_LT(elapsed, std::chrono::seconds(5));

  const absl::StatusOr<v1::AppSpec> spec = spec::ParseAppSpec(data, name);
  if (expect_ok) {
    EXPECT_TRUE(spec.ok()) << spec.status();
  } else {
    ASSERT_FALSE(spec.ok());
    EXPECT_EQ(spec.status().code(), absl::StatusCode::kInvalidArgument);
    const auto reason = ExpectedReasons().find(name);
    if (reason != ExpectedReasons().end()) {
      EXPECT_THAT(std::string(spec.status().message()), HasSubstr(reason->second));
    }
  }
}

std::string TestName(const ::testing::TestParamInfo<std::string>& info) {
  std::string name = info.param;
  for (char& c : name) {
    if (!absl::ascii_isalnum(static_cast<unsigned char>(c))) c = '_';
  }
  return name;
}

INSTANTIATE_TEST_SUITE_P(Seeds, SpecSeedTest, ::testing::ValuesIn(SeedNames()), TestName);

}  // namespace
}  // namespace pyservice::fuzz
