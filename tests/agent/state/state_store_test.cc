#include "agent/state/state_store.h"

#include <sys/stat.h>

#include <fstream>

#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "tests/testing/temp_dir.h"

namespace pyservice::agent {
namespace {

TEST(StateStore, MissingAppIsNullopt) {
  testing::TempDir dir;
  StateStore store(dir.Join("state"));
  ASSERT_TRUE(store.Initialize().ok());
  absl::StatusOr<std::optional<v1::AppState>> state = store.Load("hello");
  ASSERT_TRUE(state.ok());
  EXPECT_FALSE(state->has_value());
}

TEST(StateStore, SavedStateReadsBackAndIsPrivate) {
  testing::TempDir dir;
  StateStore store(dir.Join("state"));
  ASSERT_TRUE(store.Initialize().ok());
  v1::AppState state;
  state.set_app("hello");
  state.mutable_live()->set_id("v1-abc");
  state.mutable_live()->mutable_spec()->set_ssh_key("secret");
  ASSERT_TRUE(store.Save(state).ok());
  absl::StatusOr<std::optional<v1::AppState>> loaded = StateStore(dir.Join("state")).Load("hello");
  ASSERT_TRUE(loaded.ok() && loaded->has_value());
  EXPECT_EQ((*loaded)->live().id(), "v1-abc");
  struct stat info;
  ASSERT_EQ(stat((dir.Join("state") + "/apps/hello/state.pb").c_str(), &info), 0);
  EXPECT_EQ(info.st_mode & 0777, 0600u) << "the state holds secrets";
  ASSERT_EQ(stat(dir.Join("state").c_str(), &info), 0);
  EXPECT_EQ(info.st_mode & 0777, 0700u);
  EXPECT_THAT(*store.ListApps(), ::testing::ElementsAre("hello"));
}

TEST(StateStore, CorruptStateIsDataLossNamingTheFile) {
  testing::TempDir dir;
  StateStore store(dir.Join("state"));
  ASSERT_TRUE(store.Initialize().ok());
  v1::AppState state;
  state.set_app("hello");
  ASSERT_TRUE(store.Save(state).ok());
  std::ofstream(dir.Join("state") + "/apps/hello/state.pb") << "\xff\xff\xff garbage";
  absl::StatusOr<std::optional<v1::AppState>> loaded = store.Load("hello");
  EXPECT_EQ(loaded.status().code(), absl::StatusCode::kDataLoss);
  EXPECT_THAT(std::string(loaded.status().message()), ::testing::HasSubstr("apps/hello/state.pb"));
}

}  // namespace
}  // namespace pyservice::agent
