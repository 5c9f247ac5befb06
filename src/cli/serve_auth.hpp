// The --jwt-* and --require-auth options of `xiaoxiang serve` (issue 9):
// taken out of the argument list before the generic parser sees it, since
// --jwt-public-key repeats (one per kid: key rotation).
#pragma once

#include <memory>
#include <string>
#include <vector>

#include "xiaoxiang/security/authenticator.hpp"

namespace xiaoxiang::cli {

// The help lines of these options (for serve's --help).
extern const char* const kServeAuthHelp;

struct serve_auth {
  std::shared_ptr<authenticator> auth;  // null: no key configured (open server)
  std::string error;                    // non-empty: a usage error naming the option
  std::string describe;                 // "JWT: 2 keys (HS256 k1, RS256 k2), auth required" for the banner
};

// Removes the options from `args` and builds the authenticator. Reads the
// key files (a file that cannot be read is an error naming the option).
serve_auth take_serve_auth(std::vector<std::string>& args);

}  // namespace xiaoxiang::cli
