#include "xiaoxiang/security/ip_blocklist_file.hpp"

#include <gtest/gtest.h>
#include <unistd.h>

#include <fstream>

namespace xiaoxiang {
namespace {

struct temp_file {
  std::filesystem::path path = std::filesystem::temp_directory_path() /
                               ("xx_blocklist_" + std::to_string(::getpid()) + ".txt");
  ~temp_file() { std::filesystem::remove(path); }
  void write(const std::string& text, int mtime_offset_s) {
    std::ofstream(path, std::ios::trunc) << text;
    // Explicit mtimes: a rewrite within the file system's clock tick still
    // looks changed.
    std::filesystem::last_write_time(
        path, std::filesystem::file_time_type::clock::now() + std::chrono::seconds(mtime_offset_s));
  }
};

TEST(IpBlocklistFile, LoadsReloadsAndKeepsTheOldListOnABadFile) {
  temp_file f;
  f.write("127.0.0.0/8\n", 0);
  ip_blocklist_file file(f.path);
  EXPECT_TRUE(file.current()->contains("127.0.0.1"));
  EXPECT_FALSE(file.reload_if_changed());

  f.write("10.0.0.0/8\n", 5);
  EXPECT_TRUE(file.reload_if_changed());
  EXPECT_FALSE(file.current()->contains("127.0.0.1"));
  EXPECT_TRUE(file.current()->contains("10.2.3.4"));

  f.write("10.0.0.0/8\nbogus\n", 10);
  EXPECT_FALSE(file.reload_if_changed());
  EXPECT_EQ(file.last_bad_line(), 2u);
  EXPECT_TRUE(file.current()->contains("10.2.3.4"));  // still in force
  const auto s = file.reload();
  EXPECT_EQ(s.code, errc::invalid_field);
  EXPECT_STREQ(s.field, "cidr");

  std::filesystem::remove(f.path);
  const auto gone = file.reload();
  EXPECT_EQ(gone.code, errc::not_found);
  EXPECT_STREQ(gone.field, "path");
  EXPECT_TRUE(file.current()->contains("10.2.3.4"));
}

TEST(IpBlocklistFile, ConstructorThrowsOnMissingOrBadFile) {
  temp_file f;
  EXPECT_THROW(ip_blocklist_file{f.path}, error);
  f.write("1.2.3.4/99\n", 0);
  try {
    ip_blocklist_file bad(f.path);
    FAIL() << "no throw";
  } catch (const error& e) {
    EXPECT_EQ(e.code(), errc::invalid_field);
    EXPECT_NE(std::string(e.what()).find("line 1"), std::string::npos) << e.what();
  }
}

}  // namespace
}  // namespace xiaoxiang
