// Issue 9's costs: token verification per connection (HS256, RS256, ES256),
// the access check per SUBSCRIBE, and the per-role view per change — a
// broker publish to N customer subscribers with the view cache, beside the
// same publish without views (the plain baseline) and beside projecting
// once per subscriber (what the cache avoids).
//
//   build-x/bin/bench_security --benchmark_counters_tabular=true
#include <benchmark/benchmark.h>

#include <openssl/evp.h>
#include <openssl/pem.h>

#include <memory>
#include <string>
#include <vector>

#include "xiaoxiang/security/access_policy.hpp"
#include "xiaoxiang/security/jwt.hpp"
#include "xiaoxiang/security/principal.hpp"
#include "xiaoxiang/security/role_view.hpp"
#include "xiaoxiang/transport/broker.hpp"
#include "xiaoxiang/transport/json_codec.hpp"

namespace xiaoxiang {
namespace {

// A fresh private key's PEM (generated here: no key files in the tree).
std::string private_pem(const char* type, const char* param, unsigned bits) {
  EVP_PKEY* k = param ? EVP_PKEY_Q_keygen(nullptr, nullptr, type, param)
                      : EVP_PKEY_Q_keygen(nullptr, nullptr, type, static_cast<size_t>(bits));
  BIO* b = BIO_new(BIO_s_mem());
  PEM_write_bio_PrivateKey(b, k, nullptr, nullptr, 0, nullptr, nullptr);
  char* data = nullptr;
  const long n = BIO_get_mem_data(b, &data);
  std::string out(data, static_cast<std::size_t>(n));
  BIO_free(b);
  EVP_PKEY_free(k);
  return out;
}

jwt_key key_of(int alg) {
  if (alg == 0) return *jwt_key::hs256("k", "bench-secret-0123456789abcdef-0123456789");
  if (alg == 1) return *jwt_key::from_pem("k", private_pem("RSA", nullptr, 2048));
  return *jwt_key::from_pem("k", private_pem("EC", "P-256", 0));
}

// One verification of a customer token (signature, claims, exp) and the principal made from it.
void BM_SecurityVerify(benchmark::State& state) {
  const jwt_key key = key_of(static_cast<int>(state.range(0)));
  jwt_key_set keys;
  (void)keys.add(key);
  jwt_verifier verifier(std::move(keys));
  token_spec spec;
  spec.subject = "U123456";
  spec.token_id = "t-1";
  const std::string token = *mint_token(key, spec);
  for (auto _ : state) {
    auto claims = verifier.verify(token);
    auto who = principal_from_claims(*claims);
    benchmark::DoNotOptimize(who);
  }
  state.SetLabel(jwt_alg_name(key.alg()));
  state.SetItemsProcessed(state.iterations());
}
BENCHMARK(BM_SecurityVerify)->Arg(0)->Arg(1)->Arg(2)->ArgName("alg");

// Signing, for the load bench's token minting (one token per connection).
void BM_SecuritySign(benchmark::State& state) {
  const jwt_key key = key_of(static_cast<int>(state.range(0)));
  token_spec spec;
  spec.subject = "U123456";
  for (auto _ : state) benchmark::DoNotOptimize(mint_token(key, spec));
  state.SetLabel(jwt_alg_name(key.alg()));
}
BENCHMARK(BM_SecuritySign)->Arg(0)->Arg(1)->Arg(2)->ArgName("alg");

tracking_state order_state(int i) {
  tracking_state s;
  s.order = *id::make("O" + std::to_string(i));
  s.version = 5;
  s.status = order_status::delivering;
  s.position = {116.4 + i * 1e-5, 39.9};
  s.has_position = true;
  s.address = "Chaoyang Road 1";
  s.operator_id = *id::make("R" + std::to_string(i % 500));
  s.op_type = operator_type::rider;
  s.rider = s.operator_id;
  s.user = *id::make("U" + std::to_string(i));
  s.warehouse = *id::make("W1");
  s.eta_seconds = 600;
  return s;
}

// The access check of one SUBSCRIBE: the order's state from a broker
// holding `orders` orders (what the STOMP session reads), then the policy.
void BM_SecurityAccessCheck(benchmark::State& state) {
  const int n = static_cast<int>(state.range(0));
  broker hub;
  for (int i = 0; i < n; ++i) hub.publish(order_state(i), field::all);
  principal who;
  who.who = role::customer;
  who.user = *id::make("U7");
  const order_id target = *id::make("O7");
  for (auto _ : state) {
    auto snap = hub.snapshot(target);
    benchmark::DoNotOptimize(can_read_order(who, snap.ok() ? &*snap : nullptr));
  }
  state.SetItemsProcessed(state.iterations());
}
BENCHMARK(BM_SecurityAccessCheck)->Arg(1000)->Arg(100000)->ArgName("orders");

// One projection of a position delta to the customer's view (decode + encode).
void BM_SecurityViewProject(benchmark::State& state) {
  std::string delta;
  encode_delta(order_state(1), field::position | field::operator_info | field::eta, delta);
  std::string out;
  for (auto _ : state) {
    out.clear();
    benchmark::DoNotOptimize(project_update(delta, role::customer, order_status::delivering, out));
  }
  state.SetItemsProcessed(state.iterations());
}
BENCHMARK(BM_SecurityViewProject);

// A publish of one position change to N customer subscribers of the order.
// mode 0: plain (no views, the baseline), 1: views through role_view_cache
// (once per change), 2: projected per subscriber (what the cache avoids).
void BM_SecurityPublishViews(benchmark::State& state) {
  const int subscribers = static_cast<int>(state.range(0));
  const int mode = static_cast<int>(state.range(1));
  broker hub;
  role_view_cache cache;
  std::size_t bytes = 0;
  std::string scratch;
  std::vector<subscription> subs;
  tracking_state s = order_state(1);
  hub.publish(s, field::all);
  for (int i = 0; i < subscribers; ++i)
    subs.push_back(hub.subscribe("/topic/orders/O1", s.version, [&](const message_view& m) {
      if (mode == 0) {
        bytes += m.body.size();
      } else if (mode == 1) {
        bytes += cache.project(m.body, role::customer, [] { return order_status::delivering; }).size();
      } else {
        scratch.clear();
        (void)project_update(m.body, role::customer, order_status::delivering, scratch);
        bytes += scratch.size();
      }
    }).value());
  for (auto _ : state) {
    ++s.version;
    s.position.lon += 1e-6;
    hub.publish(s, field::position | field::operator_info);
  }
  benchmark::DoNotOptimize(bytes);
  state.SetLabel(mode == 0 ? "plain" : mode == 1 ? "views cached" : "views per subscriber");
  state.counters["projections"] = static_cast<double>(cache.metrics().projections);
  state.SetItemsProcessed(state.iterations());
}
BENCHMARK(BM_SecurityPublishViews)
    ->ArgsProduct({{1, 10, 100}, {0, 1, 2}})
    ->ArgNames({"subscribers", "mode"});

}  // namespace
}  // namespace xiaoxiang

BENCHMARK_MAIN();
