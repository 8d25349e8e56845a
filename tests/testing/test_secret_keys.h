// The controller's secret keys in tests: fixed, derived like real ones from
// a key file's bytes (controller/secrets/secret_keys.h). Never a real key.
#ifndef PYSERVICE_TESTS_TESTING_TEST_SECRET_KEYS_H_
#define PYSERVICE_TESTS_TESTING_TEST_SECRET_KEYS_H_

#include <string>

#include "controller/secrets/secret_keys.h"

namespace pyservice::testing {

// The keys of a key file of `fill` bytes; another `fill`, another key file.
inline controller::SecretKeys TestSecretKeys(char fill = 'k') {
  return *controller::DeriveSecretKeys(std::string(controller::kSecretsKeyBytes, fill));
}

}  // namespace pyservice::testing

#endif  // PYSERVICE_TESTS_TESTING_TEST_SECRET_KEYS_H_
