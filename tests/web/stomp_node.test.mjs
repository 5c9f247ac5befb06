// @stomp/stompjs over sockjs-client in Node against the live sim: every
// version of an order in order, on websocket and with websocket disabled
// (xhr-streaming, xhr-polling); resume with x-since-version; two clients
// see only their own orders; the article's Vue snippet as written.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { SockJS, Stomp, activeOrders, base, getJson, harness, sleep } from './support/env.mjs';

const MESSAGES = 6;  // on the busiest watched order: a snapshot, then deltas
const WATCH = 3;     // orders watched at once (a simulated rider may go silent)

// Checks every watched order's stream; returns the busiest order's id.
function checkStreams(orders, minimum = MESSAGES) {
  let busiest = null;
  for (const [orderId, list] of Object.entries(orders)) {
    if (list.length === 0) continue;
    assert.equal(list[0].type, 'snapshot', `${orderId}: a subscription without a version starts with a snapshot`);
    assert.equal(harness.gapless(list), '', `${orderId}: versions ${list.map((m) => m.version)}`);
    const ids = new Set();
    for (const m of list) {
      assert.equal(m.orderId, orderId);
      assert.equal(m.destination, '/topic/orders/' + orderId);
      assert.equal(m.subscription, 'sub-' + orderId);
      assert.match(m.contentType ?? '', /^application\/json/);
      assert.ok(m.messageId && !ids.has(m.messageId), 'message-id present and unique');
      ids.add(m.messageId);
    }
    if (!busiest || list.length > orders[busiest].length) busiest = orderId;
  }
  assert.ok(busiest && orders[busiest].length >= minimum,
    `the busiest order has ${busiest ? orders[busiest].length : 0} messages, wanted ${minimum}`);
  return busiest;
}

const ids = (orders) => orders.map((o) => o.orderId);

for (const [name, transports] of [['websocket', ['websocket']], ['xhr-streaming', ['xhr-streaming']], ['xhr-polling', ['xhr-polling']]]) {
  test(`every version of delivering orders, in order, over ${name}`, async () => {
    const watched = ids(await activeOrders(WATCH));
    const r = await harness.stompCollect(SockJS, Stomp, base + '/ws', transports, watched, MESSAGES, 60000, {}, false);
    assert.equal(r.transport, name);
    assert.equal(r.connectedHeaders.version, '1.2');
    assert.ok(r.connectedHeaders['heart-beat'], 'CONNECTED carries heart-beat');
    const busiest = checkStreams(r.orders);
    // What the client holds is what the server holds (or it moved on since).
    const last = r.orders[busiest].at(-1).version;
    const snap = await getJson(`/api/orders/${busiest}`);
    assert.ok(snap.version >= last, `HTTP snapshot v${snap.version} behind the stream v${last}`);
  });
}

// DISCONNECT with a receipt header, sent right after a MESSAGE arrived (so
// that on a polling transport no poll is pending): the RECEIPT must come
// before the close.
for (const transport of ['websocket', 'xhr-streaming', 'xhr-polling']) {
  test(`DISCONNECT gets its RECEIPT over ${transport}`, async () => {
    const watched = ids(await activeOrders(WATCH));
    const r = await harness.stompCollect(SockJS, Stomp, base + '/ws', [transport], watched, 3, 60000, {}, false);
    checkStreams(r.orders, 3);
    assert.ok(r.disconnectReceipt, 'RECEIPT for DISCONNECT');
  });
}

test('two subscribers with different orders get only their own', async () => {
  const watched = ids(await activeOrders(2 * WATCH));
  const mine = [watched.filter((_, i) => i % 2 === 0), watched.filter((_, i) => i % 2 === 1)];
  const results = await Promise.all(mine.map((set) =>
    harness.stompCollect(SockJS, Stomp, base + '/ws', null, set, MESSAGES, 60000, {}, false)));
  results.forEach((r, i) => {
    assert.deepEqual(Object.keys(r.orders).sort(), [...mine[i]].sort());
    checkStreams(r.orders);  // every message's orderId, destination and subscription are its own
  });
});

test('resume with x-since-version: the missed deltas, then live, no gap', async () => {
  const watched = ids(await activeOrders(WATCH));
  const first = await harness.stompCollect(SockJS, Stomp, base + '/ws', null, watched, 3, 60000, {}, false);
  const id = checkStreams(first.orders, 3);
  const seen = first.orders[id].at(-1).version;
  await sleep(2500);  // the sim moves on while this client is away
  const again = await harness.stompCollect(SockJS, Stomp, base + '/ws', null, [id], 4, 60000, { [id]: seen });
  const list = again.orders[id];
  assert.ok(list.length >= 1, 'the missed deltas arrive');
  assert.equal(list[0].type, 'delta', 'a recent version resumes with deltas, not a snapshot');
  assert.equal(list[0].version, seen + 1);
  assert.equal(harness.gapless(list, seen), '', `versions ${list.map((m) => m.version)} after v${seen}`);
});

test('the article\'s Vue snippet, unmodified, reads tracking.longitude/latitude/status', async () => {
  // An order that has just turned Delivering may have no fix yet (its
  // position is null until the rider's first one): take one that has.
  const [order] = await activeOrders(1, [3], 30000, base, (o) => typeof o.longitude === 'number');
  const tracking = await harness.withTimeout(new Promise((resolve) => {
    const socket = new SockJS(base + '/ws');
    const stompClient = Stomp.Stomp.over(socket);
    stompClient.debug = () => {};
    stompClient.connect({}, function (frame) {
      assert.equal(frame.command, 'CONNECTED');
      stompClient.subscribe(`/topic/orders/${order.orderId}`, function (response) {
        const t = JSON.parse(response.body);
        stompClient.disconnect();
        resolve(t);
      });
    });
  }), 30000, 'Stomp.over(new SockJS(/ws))');
  assert.equal(tracking.orderId, order.orderId);
  assert.ok([1, 2, 3, 4, 5].includes(tracking.status));
  assert.equal(typeof tracking.longitude, 'number');
  assert.equal(typeof tracking.latitude, 'number');
});
