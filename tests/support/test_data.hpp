// Where the tests find the real GPS data (../shared/data/real beside the
// project); tests that need it skip with a message naming the folder.
#pragma once

#include <cstdlib>
#include <filesystem>
#include <string>

namespace xiaoxiang::testing {

inline std::filesystem::path real_data_dir() {
  if (const char* env = std::getenv("XIAOXIANG_REAL_DATA")) return env;
  return XIAOXIANG_REAL_DATA_DIR;
}

inline bool has_real_data() { return std::filesystem::exists(real_data_dir() / "README.md"); }

}  // namespace xiaoxiang::testing

// Skips the current test when the real data folder is absent.
#define XIAOXIANG_REQUIRE_REAL_DATA()                                                      \
  do {                                                                                     \
    if (!::xiaoxiang::testing::has_real_data())                                           \
      GTEST_SKIP() << "real GPS data not found in " << ::xiaoxiang::testing::real_data_dir() \
                   << " (set XIAOXIANG_REAL_DATA to the shared/data/real folder)";         \
  } while (0)
