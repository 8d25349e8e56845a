// libFuzzer entry point for the app.yaml parser; see README.md.
#include <cstddef>
#include <cstdint>

#include "tests/fuzz/spec_parser_fuzz_body.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  pyservice::fuzz::FuzzSpecParser(data, size);
  return 0;
}
