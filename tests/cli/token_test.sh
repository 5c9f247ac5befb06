#!/usr/bin/env bash
# End-to-end test of `xiaoxiang token sign|verify`: tokens of each algorithm
# (keys generated here with Debian's openssl; none is committed), the
# refusals a server would give (forged, expired, wrong key, confused
# algorithm, wrong audience), --help on every level and usage errors naming
# the option. Usage: token_test.sh path/to/xiaoxiang
set -u
bin=${1:?usage: $0 path/to/xiaoxiang}
failures=0
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
. "$(dirname "$0")/lib.sh"

printf 'cli-test-secret-0123456789abcdef-0123456789\n' >"$tmp/secret"
printf 'another-secret-0123456789abcdef-0123456789\n' >"$tmp/other"
openssl genpkey -algorithm RSA -pkeyopt rsa_keygen_bits:2048 -out "$tmp/rsa.pem" 2>/dev/null
openssl pkey -in "$tmp/rsa.pem" -pubout -out "$tmp/rsa.pub.pem"
openssl genpkey -algorithm EC -pkeyopt ec_paramgen_curve:P-256 -out "$tmp/ec.pem" 2>/dev/null
openssl pkey -in "$tmp/ec.pem" -pubout -out "$tmp/ec.pub.pem"

# sign <args...>: the token on stdout, or fail
sign() { "$bin" token sign "$@" 2>"$tmp/err"; }

t=$(sign --alg HS256 --key "$tmp/secret" --sub U1 --role customer --ttl 600)
[ -n "$t" ] || fail "HS256 sign: $(cat "$tmp/err")"
"$bin" token verify --key "$tmp/secret" "$t" >"$tmp/out" 2>&1 || fail "HS256 verify: $(cat "$tmp/out")"
grep -q '"sub":"U1"' "$tmp/out" || fail "verify prints the claims: $(cat "$tmp/out")"
grep -q 'principal: role=customer sub=U1 alg=HS256' "$tmp/out" || fail "verify prints the principal: $(cat "$tmp/out")"
echo "$t" | "$bin" token verify --key "$tmp/secret" >/dev/null || fail "verify reads the token from stdin"

t=$(sign --alg RS256 --key "$tmp/rsa.pem" --kid r1 --sub R7 --role rider --rider-id R7 --aud tracking)
"$bin" token verify --key "$tmp/rsa.pub.pem" --kid r1 --aud tracking "$t" >"$tmp/out" || fail "RS256: $(cat "$tmp/out")"
grep -q 'role=rider sub=R7 rider_id=R7 alg=RS256 kid=r1' "$tmp/out" || fail "RS256 principal: $(cat "$tmp/out")"
expect "wrong audience" 1 "" -- token verify --key "$tmp/rsa.pub.pem" --kid r1 --aud admin "$t"
grep -q '^refused: jwt_wrong_audience aud' "$tmp/out" || fail "wrong audience names the reason: $(cat "$tmp/out")"
expect "unknown kid" 1 "" -- token verify --key "$tmp/rsa.pub.pem" --kid r2 "$t"
grep -q '^refused: jwt_unknown_kid kid' "$tmp/out" || fail "unknown kid: $(cat "$tmp/out")"

t=$(sign --alg ES256 --key "$tmp/ec.pem" --sub W --role warehouse --warehouse-id W1)
"$bin" token verify --key "$tmp/ec.pub.pem" "$t" >"$tmp/out" || fail "ES256: $(cat "$tmp/out")"
grep -q 'role=warehouse sub=W warehouse_id=W1 alg=ES256' "$tmp/out" || fail "ES256 principal: $(cat "$tmp/out")"

# Refusals, each naming its reason.
t=$(sign --alg HS256 --key "$tmp/secret" --sub U1 --role admin)
expect "forged (another secret)" 1 "" -- token verify --key "$tmp/other" "$t"
grep -q '^refused: jwt_bad_signature signature' "$tmp/out" || fail "forged: $(cat "$tmp/out")"
expect "expired" 1 "" -- token verify --key "$tmp/secret" --leeway 0 \
  "$(sign --alg HS256 --key "$tmp/secret" --sub U1 --role admin --ttl 1 && sleep 2)"
grep -q '^refused: jwt_expired exp' "$tmp/out" || fail "expired: $(cat "$tmp/out")"
# Algorithm confusion: the RSA public key's PEM as an HS256 secret is refused outright.
expect "pem as hs256 secret" 1 "jwt_invalid_key|secret" -- token sign --alg HS256 --key "$tmp/rsa.pub.pem" --sub U --role admin
# An RS256 token checked with the same key file read as an ES256 key.
expect "alg of the key" 2 "alg" -- token verify --key "$tmp/rsa.pub.pem" --alg ES256 "$t"
expect "malformed" 1 "" -- token verify --key "$tmp/secret" "not-a-token"
grep -q '^refused: jwt_malformed token' "$tmp/out" || fail "malformed: $(cat "$tmp/out")"
expect "alg none" 1 "" -- token verify --key "$tmp/secret" "eyJhbGciOiJub25lIn0.eyJzdWIiOiJVMSIsInJvbGUiOiJhZG1pbiJ9."
grep -q '^refused: jwt_alg_none alg' "$tmp/out" || fail "alg none: $(cat "$tmp/out")"

# Help and usage errors.
expect "help" 0 "" -- token --help
grep -q 'usage: xiaoxiang token' "$tmp/out" || fail "token --help"
expect "sign help" 0 "" -- token sign --help
grep -q -- '--warehouse-id' "$tmp/out" || fail "sign --help"
expect "verify help" 0 "" -- token verify --help
expect "no subcommand" 2 "usage: xiaoxiang token" -- token
expect "unknown subcommand" 2 "unknown subcommand 'mint'" -- token mint
expect "missing role" 2 "--role is required" -- token sign --alg HS256 --key "$tmp/secret" --sub U
expect "bad role" 2 "--role: 'root'" -- token sign --alg HS256 --key "$tmp/secret" --sub U --role root
expect "warehouse id" 2 "--warehouse-id is required" -- token sign --alg HS256 --key "$tmp/secret" --sub U --role warehouse
expect "bad alg" 2 "--alg" -- token sign --alg HS512 --key "$tmp/secret" --sub U --role admin
expect "bad ttl" 2 "ttl" -- token sign --alg HS256 --key "$tmp/secret" --sub U --role admin --ttl -5
expect "no key file" 3 "--key: .*cannot open key file" -- token sign --alg HS256 --key "$tmp/none" --sub U --role admin
expect "short secret" 1 "--key: secret" -- token sign --alg HS256 --key <(printf short) --sub U --role admin
expect "verify without key" 2 "--key is required" -- token verify x.y.z

# serve's options: usage errors name the option, before anything starts.
expect "serve require-auth without key" 2 "need a key" -- serve --require-auth --port 0 --duration 0.1
expect "serve bad public key" 2 "--jwt-public-key" -- serve --jwt-public-key k1 --port 0
expect "serve pem secret" 2 "--jwt-hs256-secret-file: secret" -- serve --jwt-hs256-secret-file "$tmp/rsa.pub.pem" --port 0
expect "serve help" 0 "" -- serve --help
grep -q -- '--jwt-public-key KID=PEM' "$tmp/out" || fail "serve --help lists the JWT options"

exit $((failures > 0))
