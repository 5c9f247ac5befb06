#include "xiaoxiang/security/ip_blocklist_file.hpp"

#include <fstream>
#include <sstream>

namespace xiaoxiang {

ip_blocklist_file::ip_blocklist_file(std::filesystem::path path)
    : path_(std::move(path)), list_(std::make_shared<ip_blocklist>()) {
  const auto s = reload();
  if (!s) {
    std::string what = "ip blocklist " + path_.string();
    if (bad_line_ != 0) what += " line " + std::to_string(bad_line_);
    throw error(s.code, what + ": " + s.message());
  }
}

status_result ip_blocklist_file::reload() {
  std::error_code ec;
  const auto mtime = std::filesystem::last_write_time(path_, ec);
  const auto size = ec ? 0 : std::filesystem::file_size(path_, ec);
  std::ifstream in(path_, std::ios::binary);
  if (ec || !in) return {errc::not_found, "path"};
  std::ostringstream text;
  text << in.rdbuf();
  std::size_t bad = 0;
  auto parsed = ip_blocklist::parse(text.str(), &bad);
  std::lock_guard lock(mu_);
  // Even a failed parse remembers the mtime: polling does not retry (and
  // log) the same bad file every time; the next edit is picked up.
  mtime_ = mtime;
  size_ = size;
  bad_line_ = bad;
  if (!parsed) return {parsed.error(), parsed.field()};
  list_ = std::make_shared<const ip_blocklist>(std::move(parsed).value());
  return {};
}

bool ip_blocklist_file::reload_if_changed() {
  std::error_code ec;
  const auto mtime = std::filesystem::last_write_time(path_, ec);
  if (ec) return false;
  const auto size = std::filesystem::file_size(path_, ec);
  if (ec) return false;
  {
    std::lock_guard lock(mu_);
    if (mtime == mtime_ && size == size_) return false;
  }
  return reload().ok();
}

std::shared_ptr<const ip_blocklist> ip_blocklist_file::current() const {
  std::lock_guard lock(mu_);
  return list_;
}

std::size_t ip_blocklist_file::last_bad_line() const {
  std::lock_guard lock(mu_);
  return bad_line_;
}

}  // namespace xiaoxiang
