#include "serve_auth.hpp"

#include <charconv>
#include <optional>

namespace xiaoxiang::cli {

const char* const kServeAuthHelp =
    "  --jwt-hs256-secret-file F  accept HS256 tokens signed with the secret in F (>= 32 bytes;\n"
    "                           a PEM key is refused: algorithm confusion)\n"
    "  --jwt-public-key KID=PEM accept RS256 / ES256 tokens of this key id (PEM public key or\n"
    "                           certificate); repeat for several keys at once (rotation)\n"
    "  --jwt-issuer I           required iss claim      --jwt-audience A  required aud member\n"
    "  --jwt-leeway S           clock skew allowed on exp / nbf (default 60)\n"
    "  --jwt-max-connections-per-token N  live connections per token (default 0: no cap)\n"
    "  --require-auth           refuse requests without a token (401 / STOMP ERROR);\n"
    "                           without it, keys check the tokens sent and requests without\n"
    "                           one are served as on an open server (migration)\n";

namespace {

// Takes "--name value" / "--name=value" occurrences of `name` out of args.
// nullopt error text: fine; otherwise the message.
std::optional<std::string> take(std::vector<std::string>& args, const std::string& name,
                                 std::vector<std::string>& values) {
  const std::string flag = "--" + name;
  for (std::size_t i = 0; i < args.size();) {
    if (args[i] == flag) {
      if (i + 1 >= args.size()) return flag + " needs a value";
      values.push_back(args[i + 1]);
      args.erase(args.begin() + static_cast<std::ptrdiff_t>(i), args.begin() + static_cast<std::ptrdiff_t>(i + 2));
    } else if (args[i].rfind(flag + "=", 0) == 0) {
      values.push_back(args[i].substr(flag.size() + 1));
      args.erase(args.begin() + static_cast<std::ptrdiff_t>(i));
    } else {
      ++i;
    }
  }
  return std::nullopt;
}

bool parse_count(const std::string& text, std::int64_t max, std::int64_t& out) {
  const auto r = std::from_chars(text.data(), text.data() + text.size(), out);
  return r.ec == std::errc() && r.ptr == text.data() + text.size() && out >= 0 && out <= max;
}

}  // namespace

serve_auth take_serve_auth(std::vector<std::string>& args) {
  serve_auth out;
  std::vector<std::string> secret_files, public_keys, issuer, audience, leeway, cap;
  bool require = false;
  for (std::size_t i = 0; i < args.size();) {
    if (args[i] == "--require-auth") {
      require = true;
      args.erase(args.begin() + static_cast<std::ptrdiff_t>(i));
    } else {
      ++i;
    }
  }
  for (auto [name, into] : {std::pair{"jwt-hs256-secret-file", &secret_files}, std::pair{"jwt-public-key", &public_keys},
                            std::pair{"jwt-issuer", &issuer}, std::pair{"jwt-audience", &audience},
                            std::pair{"jwt-leeway", &leeway}, std::pair{"jwt-max-connections-per-token", &cap}})
    if (auto e = take(args, name, *into)) {
      out.error = *e;
      return out;
    }
  for (auto [name, values] : {std::pair{"jwt-hs256-secret-file", &secret_files}, std::pair{"jwt-issuer", &issuer},
                              std::pair{"jwt-audience", &audience}, std::pair{"jwt-leeway", &leeway},
                              std::pair{"jwt-max-connections-per-token", &cap}})
    if (values->size() > 1) {
      out.error = std::string("--") + name + " given twice";
      return out;
    }
  jwt_key_set keys;
  std::string names;
  const auto note = [&names](const jwt_key& k) {
    names += (names.empty() ? "" : ", ") + std::string(jwt_alg_name(k.alg())) + (k.kid().empty() ? "" : " " + k.kid());
  };
  try {
    if (!secret_files.empty()) {
      std::string secret = read_key_file(secret_files.front());
      while (!secret.empty() && (secret.back() == '\n' || secret.back() == '\r')) secret.pop_back();
      auto k = jwt_key::hs256("", secret);
      if (!k) {
        out.error = "--jwt-hs256-secret-file: " + k.message();
        return out;
      }
      note(*k);
      (void)keys.add(std::move(*k));
    }
    for (const auto& spec : public_keys) {
      const auto eq = spec.find('=');
      if (eq == std::string::npos || eq == 0) {
        out.error = "--jwt-public-key: '" + spec + "' is not KID=PEMFILE";
        return out;
      }
      auto k = jwt_key::from_pem(spec.substr(0, eq), read_key_file(spec.substr(eq + 1)));
      if (!k) {
        out.error = "--jwt-public-key " + spec.substr(0, eq) + ": " + k.message();
        return out;
      }
      note(*k);
      if (auto added = keys.add(std::move(*k)); !added.ok()) {
        out.error = "--jwt-public-key: kid '" + spec.substr(0, eq) + "' given twice";
        return out;
      }
    }
  } catch (const error& e) {
    out.error = (secret_files.empty() ? "--jwt-public-key: " : "--jwt-...: ") + std::string(e.what());
    return out;
  }
  // The HS256 secret has no kid: with other keys, tokens must name theirs.
  if (keys.size() > 1 && !secret_files.empty()) {
    out.error = "--jwt-hs256-secret-file cannot be combined with --jwt-public-key (the secret has no kid)";
    return out;
  }
  jwt_verify_options vo;
  if (!issuer.empty()) vo.issuer = issuer.front();
  if (!audience.empty()) vo.audience = audience.front();
  std::int64_t n = 0;
  if (!leeway.empty()) {
    if (!parse_count(leeway.front(), 86400, n)) {
      out.error = "--jwt-leeway: '" + leeway.front() + "' is not seconds in 0..86400";
      return out;
    }
    vo.leeway_s = n;
  }
  authenticator_options ao;
  ao.require_auth = require;
  if (!cap.empty()) {
    if (!parse_count(cap.front(), 1'000'000, n)) {
      out.error = "--jwt-max-connections-per-token: '" + cap.front() + "' is not a count in 0..1000000";
      return out;
    }
    ao.max_connections_per_token = static_cast<std::size_t>(n);
  }
  if (keys.empty()) {
    if (require || !issuer.empty() || !audience.empty() || !leeway.empty() || !cap.empty()) {
      out.error = "--require-auth and --jwt-* options need a key (--jwt-hs256-secret-file or --jwt-public-key)";
      return out;
    }
    return out;  // open server
  }
  const std::size_t count = keys.size();
  out.auth = std::make_shared<authenticator>(std::make_shared<jwt_verifier>(std::move(keys), vo), ao);
  out.describe = "JWT: " + std::to_string(count) + (count == 1 ? " key (" : " keys (") + names + "), " +
                 (require ? "auth required" : "tokens optional (migration)");
  return out;
}

}  // namespace xiaoxiang::cli
