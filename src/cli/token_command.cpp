// `xiaoxiang token sign|verify`: JSON Web Tokens for xiaoxiang's servers
// (docs/security.md) — mint one for a test client or a load run, or check
// what a server would say of a token.
#include <iostream>
#include <istream>
#include <ostream>
#include <string>

#include "command.hpp"
#include "xiaoxiang/core/error.hpp"
#include "xiaoxiang/security/jwt.hpp"
#include "xiaoxiang/security/principal.hpp"

namespace xiaoxiang::cli {
namespace {

constexpr const char* kHelp =
    "usage: xiaoxiang token <sign|verify> [options]\n"
    "\n"
    "JSON Web Tokens as `xiaoxiang serve --jwt-...` checks them (docs/security.md).\n"
    "\n"
    "  sign     mint a token for a role and print it\n"
    "  verify   check a token against a key and print its claims, or the reason\n"
    "           it is refused\n"
    "\n"
    "Run 'xiaoxiang token sign --help' or '... verify --help' for details.\n";

constexpr const char* kSignHelp =
    "usage: xiaoxiang token sign --alg HS256|RS256|ES256 --key FILE --sub ID --role ROLE [options]\n"
    "\n"
    "  --alg A            HS256 (FILE holds the shared secret, >= 32 bytes) or RS256 / ES256\n"
    "                     (FILE holds a PEM private key: RSA >= 2048 bits, EC P-256)\n"
    "  --key FILE         the signing key\n"
    "  --kid K            key id written into the header (several keys: rotation)\n"
    "  --sub ID           subject: the user id of a customer\n"
    "  --role R           customer | rider | warehouse | admin\n"
    "  --rider-id ID      the rider a rider token speaks for (default: --sub)\n"
    "  --warehouse-id ID  the warehouse of a warehouse token (required for that role)\n"
    "  --iss I, --aud A   issuer and audience claims\n"
    "  --jti J            token id (the per-token connection cap counts by it)\n"
    "  --ttl S            seconds until it expires (default 3600)\n"
    "Prints the token on one line. Exit codes: 0 ok, 1 bad key, 2 bad usage, 3 unreadable file.\n";

constexpr const char* kVerifyHelp =
    "usage: xiaoxiang token verify --key FILE [options] [TOKEN]\n"
    "\n"
    "  --key FILE         an HS256 secret, or a PEM public key / certificate / private key\n"
    "  --alg A            HS256 | RS256 | ES256 (default: HS256 unless FILE is PEM)\n"
    "  --kid K            the key's id (tokens naming another kid are refused)\n"
    "  --iss I, --aud A   required issuer / audience\n"
    "  --leeway S         clock skew allowed on exp and nbf (default 60)\n"
    "TOKEN, or the first line of stdin. Prints the claims JSON and the principal\n"
    "(role, ids), or 'refused: <reason> <field>: <message>' with exit code 1.\n";

// The key of --key FILE, as --alg says (or as the file looks).
result<jwt_key> load_key(const std::string& path, const std::optional<std::string>& alg_name,
                         const std::string& kid) {
  const std::string text = read_key_file(path);
  const bool pem = text.find("-----BEGIN") != std::string::npos;
  jwt_alg alg = pem ? jwt_alg::rs256 : jwt_alg::hs256;
  if (alg_name) {
    auto a = jwt_alg_from_name(*alg_name);
    if (!a) return {a.error(), "alg"};
    alg = *a;
  }
  if (alg == jwt_alg::hs256) {
    // A trailing newline of a secret file is not part of the secret.
    std::string secret = text;
    while (!secret.empty() && (secret.back() == '\n' || secret.back() == '\r')) secret.pop_back();
    return jwt_key::hs256(kid, secret);
  }
  auto key = jwt_key::from_pem(kid, text);
  // Without --alg a PEM key says its algorithm itself (RSA: RS256, P-256: ES256).
  if (key && alg_name && key->alg() != alg) return {errc::jwt_alg_not_allowed, "alg"};
  return key;
}

int sign(invocation& call) {
  options opts({}, {"alg", "key", "kid", "sub", "role", "rider-id", "warehouse-id", "iss", "aud", "jti", "ttl"});
  if (!opts.parse(call.args)) {
    call.err << "xiaoxiang token sign: " << opts.error() << "\n" << kSignHelp;
    return exit_usage;
  }
  if (opts.has("help")) {
    call.out << kSignHelp;
    return exit_ok;
  }
  for (const char* required : {"alg", "key", "sub", "role"})
    if (!opts.has(required)) {
      call.err << "xiaoxiang token sign: --" << required << " is required\n" << kSignHelp;
      return exit_usage;
    }
  const auto ttl = opts.get_int("ttl", 3600, 1, 10LL * 365 * 86400);
  if (!ttl) {
    call.err << "xiaoxiang token sign: " << opts.error() << "\n";
    return exit_usage;
  }
  auto r = role_from_name(*opts.get("role"));
  if (!r) {
    call.err << "xiaoxiang token sign: --role: '" << *opts.get("role")
             << "' is not customer, rider, warehouse or admin\n";
    return exit_usage;
  }
  if (*r == role::warehouse && !opts.has("warehouse-id")) {
    call.err << "xiaoxiang token sign: --warehouse-id is required for --role warehouse\n";
    return exit_usage;
  }
  auto key = load_key(*opts.get("key"), opts.get("alg"), opts.get("kid").value_or(""));
  if (!key) {
    call.err << "xiaoxiang token sign: --" << (key.field() == std::string("alg") ? "alg" : "key") << ": "
             << key.message() << "\n";
    return key.field() == std::string("alg") ? exit_usage : exit_bad_input;
  }
  token_spec spec;
  spec.subject = *opts.get("sub");
  spec.who = *r;
  spec.rider_id = opts.get("rider-id").value_or("");
  spec.warehouse_id = opts.get("warehouse-id").value_or("");
  spec.issuer = opts.get("iss").value_or("");
  spec.audience = opts.get("aud").value_or("");
  spec.token_id = opts.get("jti").value_or("");
  spec.ttl_s = *ttl;
  auto token = mint_token(*key, spec);
  if (!token) {
    call.err << "xiaoxiang token sign: --key: " << token.message() << "\n";
    return exit_bad_input;
  }
  call.out << *token << "\n";
  return exit_ok;
}

int verify(invocation& call) {
  options opts({}, {"alg", "key", "kid", "iss", "aud", "leeway"});
  if (!opts.parse(call.args)) {
    call.err << "xiaoxiang token verify: " << opts.error() << "\n" << kVerifyHelp;
    return exit_usage;
  }
  if (opts.has("help")) {
    call.out << kVerifyHelp;
    return exit_ok;
  }
  if (!opts.has("key")) {
    call.err << "xiaoxiang token verify: --key is required\n" << kVerifyHelp;
    return exit_usage;
  }
  const auto leeway = opts.get_int("leeway", 60, 0, 86400);
  if (!leeway) {
    call.err << "xiaoxiang token verify: " << opts.error() << "\n";
    return exit_usage;
  }
  if (opts.positional().size() > 1) {
    call.err << "xiaoxiang token verify: unexpected argument '" << opts.positional()[1] << "'\n";
    return exit_usage;
  }
  std::string token;
  if (!opts.positional().empty()) token = opts.positional().front();
  else std::getline(call.in, token);
  while (!token.empty() && (token.back() == '\r' || token.back() == ' ')) token.pop_back();
  auto key = load_key(*opts.get("key"), opts.get("alg"), opts.get("kid").value_or(""));
  if (!key) {
    call.err << "xiaoxiang token verify: --" << (key.field() == std::string("alg") ? "alg" : "key") << ": "
             << key.message() << "\n";
    return key.field() == std::string("alg") ? exit_usage : exit_bad_input;
  }
  jwt_key_set keys;
  (void)keys.add(*key);
  jwt_verify_options vo;
  vo.issuer = opts.get("iss").value_or("");
  vo.audience = opts.get("aud").value_or("");
  vo.leeway_s = *leeway;
  jwt_verifier verifier(std::move(keys), vo);
  auto claims = verifier.verify(token);
  const auto refuse = [&](std::error_code code, const char* field) {
    call.out << "refused: " << errc_name(static_cast<errc>(code.value())) << " " << (field ? field : "") << ": "
             << describe(code, field) << "\n";
    return exit_bad_input;
  };
  if (!claims) return refuse(claims.error(), claims.field());
  call.out << claims->json << "\n";
  auto who = principal_from_claims(*claims);
  if (!who) return refuse(who.error(), who.field());
  call.out << "principal: role=" << role_name(who->who) << " sub=" << who->subject;
  if (who->who == role::rider) call.out << " rider_id=" << who->rider.view();
  if (who->who == role::warehouse) call.out << " warehouse_id=" << who->warehouse.view();
  call.out << " alg=" << jwt_alg_name(claims->alg);
  if (!claims->kid.empty()) call.out << " kid=" << claims->kid;
  call.out << "\n";
  return exit_ok;
}

int run(invocation& call) {
  if (call.args.empty() || call.args.front() == "--help" || call.args.front() == "-h") {
    (call.args.empty() ? call.err : call.out) << kHelp;
    return call.args.empty() ? exit_usage : exit_ok;
  }
  const std::string sub = call.args.front();
  call.args.erase(call.args.begin());
  try {
    if (sub == "sign") return sign(call);
    if (sub == "verify") return verify(call);
  } catch (const error& e) {
    call.err << "xiaoxiang token " << sub << ": --key: " << e.what() << "\n";
    return exit_failure;
  }
  call.err << "xiaoxiang token: unknown subcommand '" << sub << "'\n" << kHelp;
  return exit_usage;
}

const bool registered = register_command({"token", "sign and verify JSON Web Tokens (roles, keys)", run});

}  // namespace
}  // namespace xiaoxiang::cli
