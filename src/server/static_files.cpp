// Static files (the web page built into web/dist): GET and HEAD below
// options.static_root, with MIME types, ETag/304 and no way out of the root.
#include <filesystem>
#include <fstream>
#include <sstream>

#include "server_detail.hpp"

namespace xiaoxiang {

using namespace server_detail;

namespace {

std::string_view mime_type(std::string_view ext) noexcept {
  struct row {
    std::string_view ext, type;
  };
  static constexpr row kTypes[] = {
      {".html", "text/html; charset=UTF-8"},   {".htm", "text/html; charset=UTF-8"},
      {".js", "application/javascript; charset=UTF-8"}, {".mjs", "application/javascript; charset=UTF-8"},
      {".css", "text/css; charset=UTF-8"},     {".json", "application/json"},
      {".geojson", "application/geo+json"},    {".map", "application/json"},
      {".svg", "image/svg+xml"},               {".png", "image/png"},
      {".jpg", "image/jpeg"},                  {".jpeg", "image/jpeg"},
      {".gif", "image/gif"},                   {".ico", "image/x-icon"},
      {".webp", "image/webp"},                 {".txt", "text/plain; charset=UTF-8"},
      {".woff", "font/woff"},                  {".woff2", "font/woff2"},
      {".wasm", "application/wasm"},
  };
  for (const auto& r : kTypes)
    if (r.ext == ext) return r.type;
  return "application/octet-stream";
}

}  // namespace

void web_server::impl::serve_static(const std::shared_ptr<http_connection>& conn,
                                    const http_request& req) {
  const std::uint64_t no = conn->request_no();
  auto not_found = [&] {
    conn->respond(no, json_error(404, "not_found", "path", "no such resource: " + req.path));
  };
  if (req.method != "GET" && req.method != "HEAD") {
    http_response r = json_error(405, "method_not_allowed", "method", "only GET and HEAD are served here");
    r.headers.emplace_back("Allow", "GET, HEAD");
    return conn->respond(no, std::move(r));
  }
  if (options.static_root.empty()) return not_found();
  // The decoded path must stay inside the root: no "..", no NUL, no
  // backslashes (a Windows habit), and the resolved file must be below it.
  std::string rel = req.path;
  if (rel.empty() || rel.front() != '/' || rel.find('\0') != std::string::npos ||
      rel.find('\\') != std::string::npos)
    return not_found();
  for (std::size_t pos = 0; pos < rel.size();) {
    const auto next = rel.find('/', pos + 1);
    const std::string_view seg = std::string_view(rel).substr(pos + 1, next == std::string::npos ? std::string::npos : next - pos - 1);
    if (seg == ".." || seg == ".") return not_found();
    if (next == std::string::npos) break;
    pos = next;
  }
  if (rel.back() == '/') rel += "index.html";
  namespace fs = std::filesystem;
  std::error_code ec;
  const fs::path root = fs::weakly_canonical(options.static_root, ec);
  if (ec) return not_found();
  fs::path file = fs::weakly_canonical(root / rel.substr(1), ec);
  if (ec) return not_found();
  if (fs::is_directory(file, ec)) file /= "index.html";
  const auto rel_check = file.lexically_relative(root);
  if (rel_check.empty() || *rel_check.begin() == "..") return not_found();
  const auto size = fs::file_size(file, ec);
  if (ec || size > 64u * 1024 * 1024) return not_found();
  const auto mtime = fs::last_write_time(file, ec);
  if (ec) return not_found();
  char etag[64];
  std::snprintf(etag, sizeof etag, "\"%llx-%llx\"", static_cast<unsigned long long>(size),
                static_cast<unsigned long long>(mtime.time_since_epoch().count()));
  http_response r;
  r.content_type = std::string(mime_type(file.extension().string()));
  r.headers.emplace_back("ETag", etag);
  r.headers.emplace_back("Cache-Control", "no-cache");
  if (req.header("If-None-Match") == etag) {
    r.status = 304;
    r.content_type.clear();
    return conn->respond(no, std::move(r));
  }
  std::ifstream in(file, std::ios::binary);
  if (!in) return not_found();
  std::ostringstream ss;
  ss << in.rdbuf();
  r.body = std::move(ss).str();
  conn->respond(no, std::move(r));
}

}  // namespace xiaoxiang
