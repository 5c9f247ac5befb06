// A server restart mid-stream: the client (stompjs over sockjs-client,
// reconnecting by itself as the article's 断线重连 asks) resubscribes with
// x-since-version = the last version it saw and must never see a silent gap:
// the deltas after that version, or a snapshot that resets it. Starts a
// server of its own, on its own port, so that it can kill and restart it.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { SockJS, Stomp, activeOrders, getJson, harness, sleep, startServer } from './support/env.mjs';

test('server restart mid-stream: reconnect, resume, no gap', { timeout: 120000 }, async (t) => {
  let server = await startServer(0);
  t.after(() => server.stop('SIGKILL'));
  const port = new URL(server.url).port;
  const [order] = await activeOrders(1, [3], 30000, server.url);
  const id = order.orderId;

  const received = [];  // {version, type} in arrival order
  let last;             // the version the client holds
  let connects = 0;
  const client = new Stomp.Client({
    webSocketFactory: () => new SockJS(server.url + '/ws'),
    reconnectDelay: 300,
    heartbeatIncoming: 2000,
    heartbeatOutgoing: 2000,
    debug: () => {},
  });
  client.onConnect = () => {
    connects++;
    const headers = { id: 'sub-0' };
    if (last !== undefined) headers['x-since-version'] = String(last);
    client.subscribe('/topic/orders/' + id, (m) => {
      const body = JSON.parse(m.body);
      received.push({ version: body.version, type: body.type, after: connects });
      last = body.version;
    }, headers);
  };
  client.activate();
  t.after(() => client.deactivate());

  const waitFor = async (what, predicate, ms) => {
    const until = Date.now() + ms;
    while (!predicate()) {
      if (Date.now() > until) throw new Error(`${what}: not within ${ms} ms (received ${JSON.stringify(received)})`);
      await sleep(100);
    }
  };
  await waitFor('3 messages before the restart', () => received.length >= 3, 30000);
  const before = received.length;

  await server.stop('SIGTERM');
  const stoppedAt = last;
  server = await startServer(port);
  await waitFor('reconnected', () => connects >= 2, 30000);
  await waitFor('3 messages after the restart', () => received.filter((m) => m.after >= 2).length >= 3, 60000);

  assert.equal(harness.gapless(received), '', `versions ${received.map((m) => `${m.type[0]}${m.version}`)}`);
  const resumed = received[before];
  assert.ok(resumed.type === 'snapshot' || resumed.version === stoppedAt + 1,
    `after the restart: ${resumed.type} v${resumed.version}, the client held v${stoppedAt}`);
  // What the client ends with is what the restarted server holds.
  const snap = await getJson(`/api/orders/${id}`, server.url);
  assert.ok(snap.version >= last);
});
