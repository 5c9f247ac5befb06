#include "xiaoxiang/security/authenticator.hpp"

#include <cassert>

namespace xiaoxiang {

struct authenticator::slots {
  std::mutex mu;
  std::unordered_map<std::string, std::size_t> open;  // token key -> live connections
  std::size_t total = 0;
};

authenticator::authenticator(std::shared_ptr<const jwt_verifier> verifier, authenticator_options options)
    : verifier_(std::move(verifier)), options_(options), slots_(std::make_shared<slots>()) {
  assert((verifier_ != nullptr || !options_.require_auth) && "Requires: require_auth needs a verifier");
}

namespace {

bool iequals(std::string_view a, std::string_view b) noexcept {
  if (a.size() != b.size()) return false;
  for (std::size_t i = 0; i < a.size(); ++i) {
    const auto lower = [](char c) { return c >= 'A' && c <= 'Z' ? static_cast<char>(c - 'A' + 'a') : c; };
    if (lower(a[i]) != lower(b[i])) return false;
  }
  return true;
}

std::string_view trim(std::string_view s) noexcept {
  while (!s.empty() && (s.front() == ' ' || s.front() == '\t')) s.remove_prefix(1);
  while (!s.empty() && (s.back() == ' ' || s.back() == '\t')) s.remove_suffix(1);
  return s;
}

}  // namespace

result<std::optional<principal>> authenticator::authenticate(std::string_view authorization_header,
                                                             std::string_view access_token) {
  authorization_header = trim(authorization_header);
  std::string_view token = access_token;
  if (!authorization_header.empty()) {
    const std::size_t space = authorization_header.find(' ');
    if (space == std::string_view::npos || !iequals(authorization_header.substr(0, space), "Bearer"))
      return {errc::jwt_malformed, "Authorization"};
    token = trim(authorization_header.substr(space + 1));
  }
  if (token.empty()) {
    if (required()) {
      auth_required_.fetch_add(1, std::memory_order_relaxed);
      return {errc::auth_required, "Authorization"};
    }
    anonymous_.fetch_add(1, std::memory_order_relaxed);
    return std::optional<principal>{};
  }
  if (!verifier_) {
    // An open server ignores credentials, as it did before it knew of them.
    anonymous_.fetch_add(1, std::memory_order_relaxed);
    return std::optional<principal>{};
  }
  auto claims = verifier_->verify(token);
  if (!claims) return {claims.error(), claims.field()};
  auto who = principal_from_claims(*claims);
  if (!who) {
    bad_claims_.fetch_add(1, std::memory_order_relaxed);
    return {who.error(), who.field()};
  }
  authenticated_.fetch_add(1, std::memory_order_relaxed);
  return std::optional<principal>(std::move(*who));
}

result<token_lease> authenticator::admit(const principal& who) {
  const std::size_t cap = options_.max_connections_per_token;
  std::shared_ptr<slots> s = slots_;
  {
    std::lock_guard lock(s->mu);
    std::size_t& n = s->open[who.token_key];
    if (cap > 0 && n >= cap) {
      if (n == 0) s->open.erase(who.token_key);
      token_refused_.fetch_add(1, std::memory_order_relaxed);
      return {errc::too_many_token_connections, "token"};
    }
    ++n;
    ++s->total;
  }
  // The lease holds the table, not the authenticator: it may outlive it.
  struct releaser {
    std::shared_ptr<slots> table;
    std::string key;
    releaser(std::shared_ptr<slots> t, std::string k) : table(std::move(t)), key(std::move(k)) {}
    releaser(const releaser&) = delete;
    releaser& operator=(const releaser&) = delete;
    ~releaser() {
      std::lock_guard lock(table->mu);
      auto it = table->open.find(key);
      if (it != table->open.end() && --it->second == 0) table->open.erase(it);
      --table->total;
    }
  };
  return token_lease(std::make_shared<releaser>(std::move(s), who.token_key));
}

auth_metrics authenticator::metrics() const {
  auth_metrics m;
  if (verifier_) m.tokens = verifier_->metrics();
  m.authenticated = authenticated_.load(std::memory_order_relaxed);
  m.anonymous = anonymous_.load(std::memory_order_relaxed);
  m.auth_required = auth_required_.load(std::memory_order_relaxed);
  m.bad_claims = bad_claims_.load(std::memory_order_relaxed);
  m.access_denied = access_denied_.load(std::memory_order_relaxed);
  m.token_connections_refused = token_refused_.load(std::memory_order_relaxed);
  {
    std::lock_guard lock(slots_->mu);
    m.connections_open = slots_->total;
  }
  return m;
}

}  // namespace xiaoxiang
