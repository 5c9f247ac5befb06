// The article's 降级方案 from a client's side: long polling
// GET /api/orders/{id}/updates?since=V&timeout=S, each answer continuing
// from the last version held, without a gap.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { activeOrders, getJson, harness } from './support/env.mjs';

test('long polling follows an order version by version', { timeout: 150000 }, async () => {
  // Of a few delivering orders, follow one that is moving (a simulated
  // rider may go silent; a poll that times out answers []).
  const candidates = await activeOrders(3);
  let id = null;
  let since = 0;
  const received = [];
  for (const order of candidates) {
    const list = await getJson(`/api/orders/${order.orderId}/updates?since=${order.version}&timeout=10`);
    assert.ok(Array.isArray(list), 'the answer is a JSON array');
    if (list.length) {
      id = order.orderId;
      assert.equal(harness.gapless(list, order.version), '', `after v${order.version}: ${list.map((m) => m.version)}`);
      received.push(...list);
      since = list.at(-1).version;
      break;
    }
  }
  assert.ok(id, 'one of the delivering orders changed within 10 s');
  for (let poll = 0; poll < 8 && received.length < 4; poll++) {
    const list = await getJson(`/api/orders/${id}/updates?since=${since}&timeout=10`);
    for (const m of list) assert.equal(m.orderId, id);
    assert.equal(harness.gapless(list, since), '', `after v${since}: ${list.map((m) => m.version)}`);
    received.push(...list);
    if (list.length) since = list.at(-1).version;
  }
  assert.ok(received.length >= 4, `${received.length} updates`);
});

test('long polling from the current version answers only what is newer', { timeout: 60000 }, async () => {
  const [order] = await activeOrders(1);
  const now = await getJson(`/api/orders/${order.orderId}`);
  const list = await getJson(`/api/orders/${order.orderId}/updates?since=${now.version}&timeout=5`);
  assert.ok(Array.isArray(list));
  for (const m of list) assert.ok(m.version > now.version, 'nothing old comes back');
});
