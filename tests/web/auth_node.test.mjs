// Issue 9 with real clients: @stomp/stompjs over sockjs-client against a
// `xiaoxiang serve --require-auth` of this test's own (an HS256 secret
// written here, tokens minted with `xiaoxiang token sign`): a customer's
// token in the CONNECT headers, the same token as access_token in the URL,
// refusals as STOMP ERROR frames naming the reason, and the customer's view.
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'node:test';
import { SockJS, Stomp, sleep, startServer } from './support/env.mjs';

const cli = process.env.XIAOXIANG_CLI;

function mint(secretFile, sub, role, extra = []) {
  return execFileSync(cli, ['token', 'sign', '--alg', 'HS256', '--key', secretFile, '--sub', sub,
    '--role', role, '--ttl', '600', ...extra], { encoding: 'utf8' }).trim();
}

async function getAs(url, token) {
  const response = await fetch(url, { headers: token ? { Authorization: 'Bearer ' + token } : {} });
  return { status: response.status, body: await response.json() };
}

// Connects, subscribes to `destination`, and resolves with the first
// `count` MESSAGE bodies, or the ERROR frame's headers.
function watch(url, connectHeaders, destination, count, timeoutMs = 30000) {
  return new Promise((resolve, reject) => {
    const bodies = [];
    const client = new Stomp.Client({
      webSocketFactory: () => new SockJS(url),
      connectHeaders,
      reconnectDelay: 0,
      debug: () => {},
    });
    const timer = setTimeout(() => { client.deactivate(); reject(new Error(`timeout: ${bodies.length} messages`)); }, timeoutMs);
    const finish = (value) => { clearTimeout(timer); client.deactivate(); resolve(value); };
    client.onConnect = () => {
      client.subscribe(destination, (m) => {
        bodies.push(JSON.parse(m.body));
        if (bodies.length >= count) finish({ bodies });
      });
    };
    client.onStompError = (frame) => finish({ error: frame.headers });
    client.activate();
  });
}

test('stompjs with a JWT: the customer sees its order at its view, refusals name the reason', { timeout: 120000 }, async (t) => {
  const dir = mkdtempSync(join(tmpdir(), 'xiaoxiang-auth-'));
  const secret = join(dir, 'secret');
  writeFileSync(secret, 'web-test-secret-' + Math.random().toString(36).slice(2) + '-0123456789abcdef\n');
  const server = await startServer(0, ['--jwt-hs256-secret-file', secret, '--require-auth']);
  t.after(async () => { await server.stop(); rmSync(dir, { recursive: true, force: true }); });

  const admin = mint(secret, 'ops', 'admin');
  assert.equal((await getAs(server.url + '/api/orders')).status, 401);
  // A delivering order and its customer, through the API as the admin.
  let order = null;
  for (let i = 0; i < 60 && !order; i++) {
    const list = await getAs(server.url + '/api/orders?limit=500', admin);
    assert.equal(list.status, 200);
    order = list.body.orders.filter((o) => o.status === 3).sort((a, b) => b.etaSeconds - a.etaSeconds)[0] ?? null;
    if (!order) await sleep(500);
  }
  assert.ok(order, 'a delivering order');
  const customer = mint(secret, order.userId, 'customer');
  const topic = '/topic/orders/' + order.orderId;

  // Bearer token in CONNECT's headers (what stompjs can always do).
  const mine = await watch(server.url + '/ws', { Authorization: 'Bearer ' + customer }, topic, 2);
  assert.ok(mine.bodies, JSON.stringify(mine.error));
  for (const m of mine.bodies) {
    assert.equal(m.orderId, order.orderId);
    assert.equal(m.operatorId ?? null, null, 'no operator details for a customer');
    assert.equal(m.operatorType ?? 0, 0);
  }
  assert.equal(mine.bodies[0].userId, order.userId);

  // The token as access_token in the SockJS URL (transports without headers).
  const byUrl = await watch(server.url + '/ws?access_token=' + encodeURIComponent(customer), {}, topic, 1);
  assert.ok(byUrl.bodies, JSON.stringify(byUrl.error));

  // No token, someone else's order, a forged token: ERROR frames naming the reason.
  const none = await watch(server.url + '/ws', {}, topic, 1);
  assert.equal(none.error?.['x-error-code'], 'auth_required');
  const stranger = await watch(server.url + '/ws', { Authorization: 'Bearer ' + mint(secret, 'U-nobody', 'customer') }, topic, 1);
  assert.equal(stranger.error?.['x-error-code'], 'access_denied');
  assert.equal(stranger.error?.['x-error-field'], 'orderId');
  // The claims made an admin's, the customer's signature kept.
  const parts = customer.split('.');
  parts[1] = Buffer.from(JSON.stringify({ sub: 'ops', role: 'admin', exp: Math.floor(Date.now() / 1000) + 600 })).toString('base64url');
  const forged = parts.join('.');
  const bad = await watch(server.url + '/ws', { Authorization: 'Bearer ' + forged }, topic, 1);
  assert.equal(bad.error?.['x-error-code'], 'jwt_bad_signature');
  // The admin sees every field.
  const full = await watch(server.url + '/ws', { Authorization: 'Bearer ' + admin }, topic, 1);
  assert.ok(full.bodies[0].operatorId, 'the admin sees the operator');
});
