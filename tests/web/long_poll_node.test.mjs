// The article's 降级方案 from a client's side: long polling
// GET /api/orders/{id}/updates?since=V&timeout=S, each answer continuing
// from the last version held, without a gap.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { activeOrders, getJson, harness } from './support/env.mjs';

test('long polling follows an order version by version', { timeout: 120000 }, async () => {
  const [order] = await activeOrders(1);
  let since = order.version;
  const received = [];
  for (let poll = 0; poll < 4; poll++) {
    const list = await getJson(`/api/orders/${order.orderId}/updates?since=${since}&timeout=20`);
    assert.ok(Array.isArray(list), 'the answer is a JSON array');
    assert.ok(list.length >= 1, 'a poll returns when there is something new');
    for (const m of list) assert.equal(m.orderId, order.orderId);
    assert.equal(harness.gapless(list, since), '', `after v${since}: ${list.map((m) => m.version)}`);
    received.push(...list);
    since = list.at(-1).version;
  }
  assert.ok(received.length >= 4);
});

test('long polling from the current version waits, then answers', { timeout: 60000 }, async () => {
  const [order] = await activeOrders(1);
  const now = await getJson(`/api/orders/${order.orderId}`);
  const list = await getJson(`/api/orders/${order.orderId}/updates?since=${now.version}&timeout=20`);
  assert.ok(list.length >= 1);
  assert.ok(list[0].version > now.version, 'nothing old comes back');
});
