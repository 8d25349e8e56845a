#include "controller/store/aes_gcm_spec_sealer.h"

#include <string>

#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "tests/testing/test_secret_keys.h"

namespace pyservice::controller {
namespace {

using ::testing::HasSubstr;
using ::testing::Not;

class AesGcmSpecSealerTest : public ::testing::Test {
 protected:
  const AesGcmSpecSealer sealer_{testing::TestSecretKeys('a'), "/etc/p/secrets.key"};
  const std::string plaintext_ = "ssh_key: hunter2, a spec's bytes";
};

TEST_F(AesGcmSpecSealerTest, RoundTrip) {
  absl::StatusOr<std::string> sealed = sealer_.Seal("web", 3, plaintext_);
  ASSERT_TRUE(sealed.ok()) << sealed.status();
  EXPECT_TRUE(IsSealedSpec(*sealed));
  EXPECT_THAT(*sealed, Not(HasSubstr("hunter2")));
  absl::StatusOr<std::string> opened = sealer_.Open("web", 3, *sealed);
  ASSERT_TRUE(opened.ok()) << opened.status();
  EXPECT_EQ(*opened, plaintext_);
  EXPECT_EQ(*sealer_.Open("web", 3, *sealer_.Seal("web", 3, "")), "");
}

TEST_F(AesGcmSpecSealerTest, EverySealHasItsOwnNonce) {
  EXPECT_NE(*sealer_.Seal("web", 3, plaintext_), *sealer_.Seal("web", 3, plaintext_));
}

TEST_F(AesGcmSpecSealerTest, ABlobCopiedToAnotherRowDoesNotOpen) {
  const std::string sealed = *sealer_.Seal("web", 3, plaintext_);
  for (const auto& [app, number] :
       {std::pair<std::string, uint32_t>{"web", 4}, {"api", 3}, {"we", 3}}) {
    absl::StatusOr<std::string> opened = sealer_.Open(app, number, sealed);
    ASSERT_FALSE(opened.ok()) << app << " " << number;
    EXPECT_EQ(opened.status().code(), absl::StatusCode::kDataLoss);
    EXPECT_THAT(opened.status().message(),
                HasSubstr(absl::StrCat("stored spec of ", app, " revision ", number)));
    EXPECT_THAT(opened.status().message(), HasSubstr("copied from another row"));
  }
}

TEST_F(AesGcmSpecSealerTest, AnyChangedByteIsRefused) {
  const std::string sealed = *sealer_.Seal("web", 3, plaintext_);
  for (size_t i = kSealedSpecMagic.size() + 1; i < sealed.size(); ++i) {
    std::string changed = sealed;
    changed[i] ^= 0x01;
    EXPECT_FALSE(sealer_.Open("web", 3, changed).ok()) << "byte " << i;
  }
  EXPECT_FALSE(sealer_.Open("web", 3, sealed.substr(0, sealed.size() - 1)).ok());
}

TEST_F(AesGcmSpecSealerTest, AnotherKeyFileIsNamedAsTheCause) {
  const AesGcmSpecSealer other(testing::TestSecretKeys('b'), "/etc/p/other.key");
  absl::StatusOr<std::string> opened = other.Open("web", 3, *sealer_.Seal("web", 3, plaintext_));
  ASSERT_FALSE(opened.ok());
  EXPECT_EQ(opened.status().code(), absl::StatusCode::kFailedPrecondition);
  EXPECT_THAT(opened.status().message(), HasSubstr("stored spec of web revision 3"));
  EXPECT_THAT(opened.status().message(), HasSubstr("/etc/p/other.key"));
  EXPECT_THAT(opened.status().message(), HasSubstr("the key file does not match this data dir"));
}

TEST_F(AesGcmSpecSealerTest, APlaintextOrUnknownBlobIsDataLossNotGarbage) {
  for (const std::string& blob : {std::string("\x0a\x03web"),
                                  std::string(kSealedSpecMagic) + "\x02rest-of-a-future-format"}) {
    absl::StatusOr<std::string> opened = sealer_.Open("web", 3, blob);
    ASSERT_FALSE(opened.ok());
    EXPECT_EQ(opened.status().code(), absl::StatusCode::kDataLoss);
    EXPECT_THAT(opened.status().message(), HasSubstr("not in a sealed format"));
  }
}

}  // namespace
}  // namespace pyservice::controller
