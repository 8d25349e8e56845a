// The spec parser's fuzz target, as a plain function: the libFuzzer binary
// (spec_parser_fuzz.cc) calls it on generated inputs, and common_test
// (spec_corpus_replay_test.cc) replays the seed corpus through it on every
// build, so the corpus stays meaningful without clang.
#ifndef PYSERVICE_TESTS_FUZZ_SPEC_PARSER_FUZZ_BODY_H_
#define PYSERVICE_TESTS_FUZZ_SPEC_PARSER_FUZZ_BODY_H_

#include <cstddef>
#include <cstdint>

namespace pyservice::fuzz {

// Parses `data` as an app.yaml. When it is accepted, also runs what the
// controller runs on a stored spec (CanonicalYaml, SpecDigest, RedactSecrets,
// ExpandSpec, UnifiedDiff) and checks their invariants, calling
// __builtin_trap() when one is broken:
//  * parsing is deterministic: the same input gives the same canonical text;
//  * the digest is "sha256:" and 64 lowercase hex digits;
//  * the spec survives protobuf serialization (every string is UTF-8);
//  * the stored config_yaml is canonical: re-emitting it changes nothing;
//  * an accepted spec expands: the parser checked every template;
//  * the diff of a canonical text against itself is empty, and against the
//    canonical text of another spec is not.
// Returns whether the document was accepted.
bool FuzzSpecParser(const uint8_t* data, size_t size);

}  // namespace pyservice::fuzz

#endif  // PYSERVICE_TESTS_FUZZ_SPEC_PARSER_FUZZ_BODY_H_
