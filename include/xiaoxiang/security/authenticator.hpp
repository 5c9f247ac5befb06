// authenticator: what a server's transports call to turn a request's
// credentials (an `Authorization: Bearer <JWT>` header, or an access_token
// query parameter for transports that cannot set headers) into a principal,
// to cap connections per token, and to project pushed messages per role.
// One per server, shared by every connection; thread-safe.
//
// Modes: no verifier: the server is open (everyone is an anonymous admin,
// xiaoxiang's behaviour before issue 9). A verifier and require_auth: a
// request without a token is refused (errc::auth_required). A verifier
// without require_auth (migration): a token, when sent, is verified and its
// role applies; a request without one is served as on an open server.
#pragma once

#include <atomic>
#include <cstddef>
#include <cstdint>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <string_view>
#include <unordered_map>

#include "xiaoxiang/core/result.hpp"
#include "xiaoxiang/security/jwt.hpp"
#include "xiaoxiang/security/principal.hpp"
#include "xiaoxiang/security/role_view.hpp"

namespace xiaoxiang {

struct authenticator_options {
  bool require_auth = false;                  // refuse requests without a token (needs a verifier)
  std::size_t max_connections_per_token = 0;  // live connections with one token; 0: no cap
};

// Counters of an authenticator (monotonic, except connections_open).
struct auth_metrics {
  jwt_metrics tokens;                  // verified, and failures by jwt_* reason
  std::uint64_t authenticated = 0;     // credentials accepted (principal made)
  std::uint64_t anonymous = 0;         // requests without a token served openly
  std::uint64_t auth_required = 0;     // refused: no token and require_auth
  std::uint64_t bad_claims = 0;        // verified tokens without usable sub / role / ids
  std::uint64_t access_denied = 0;     // SUBSCRIBE / SEND / requests refused by the access policy
  std::uint64_t token_connections_refused = 0;  // over max_connections_per_token
  std::uint64_t connections_open = 0;  // connections holding a token lease now
};

// A held connection slot of one token; releasing it (destruction) frees the slot.
using token_lease = std::shared_ptr<void>;

class authenticator {
 public:
  // `verifier` null: open server (options.require_auth must then be false).
  explicit authenticator(std::shared_ptr<const jwt_verifier> verifier,
                         authenticator_options options = {});
  authenticator(const authenticator&) = delete;
  authenticator& operator=(const authenticator&) = delete;

  bool enabled() const noexcept { return verifier_ != nullptr; }  // tokens are checked
  bool required() const noexcept { return options_.require_auth && verifier_ != nullptr; }

  // The principal of an Authorization header value ("Bearer <token>",
  // scheme case-insensitive) or, when that is empty, of a bare token (the
  // access_token parameter). nullopt: no credentials and none required (an
  // anonymous caller of an open or migrating server). Rejections:
  // errc::auth_required "Authorization", errc::jwt_malformed "Authorization"
  // (not a Bearer header), the verifier's jwt_* reasons, and those of
  // principal_from_claims (counted in bad_claims).
  result<std::optional<principal>> authenticate(std::string_view authorization_header,
                                                std::string_view access_token = {});

  // Takes one connection slot of the principal's token:
  // errc::too_many_token_connections "token" beyond the cap.
  result<token_lease> admit(const principal& who);

  // Counts a refusal of the access policy (the transports call it).
  void count_denied() noexcept { access_denied_.fetch_add(1, std::memory_order_relaxed); }

  role_view_cache& views() noexcept { return views_; }  // per-role projections of deliveries
  const authenticator_options& options() const noexcept { return options_; }
  const jwt_verifier* verifier() const noexcept { return verifier_.get(); }
  auth_metrics metrics() const;

  struct slots;  // internal: the per-token connection counts

 private:
  std::shared_ptr<const jwt_verifier> verifier_;
  authenticator_options options_;
  role_view_cache views_;
  std::shared_ptr<slots> slots_;
  std::atomic<std::uint64_t> authenticated_{0};
  std::atomic<std::uint64_t> anonymous_{0};
  std::atomic<std::uint64_t> auth_required_{0};
  std::atomic<std::uint64_t> bad_claims_{0};
  std::atomic<std::uint64_t> access_denied_{0};
  std::atomic<std::uint64_t> token_refused_{0};
};

}  // namespace xiaoxiang
