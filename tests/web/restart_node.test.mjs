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
  // A few delivering orders at once: a simulated rider may go silent.
  const watched = (await activeOrders(3, [3], 30000, server.url)).map((o) => o.orderId);

  const received = new Map(watched.map((id) => [id, []]));  // id -> [{version, type, after}]
  const last = new Map();  // id -> the version the client holds
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
    for (const id of watched) {
      const headers = { id: 'sub-' + id };
      if (last.has(id)) headers['x-since-version'] = String(last.get(id));
      client.subscribe('/topic/orders/' + id, (m) => {
        const body = JSON.parse(m.body);
        received.get(id).push({ version: body.version, type: body.type, after: connects });
        last.set(id, body.version);
      }, headers);
    }
  };
  client.activate();
  t.after(() => client.deactivate());
  const count = (after) => [...received.values()].flat().filter((m) => m.after >= after).length;

  const waitFor = async (what, predicate, ms) => {
    const until = Date.now() + ms;
    while (!predicate()) {
      if (Date.now() > until) throw new Error(`${what}: not within ${ms} ms (received ${JSON.stringify([...received])})`);
      await sleep(100);
    }
  };
  await waitFor('3 messages before the restart', () => count(1) >= 3, 30000);
  const before = new Map(watched.map((id) => [id, received.get(id).length]));

  await server.stop('SIGTERM');
  const held = new Map(last);
  server = await startServer(port);
  await waitFor('reconnected', () => connects >= 2, 30000);
  await waitFor('3 messages after the restart', () => count(2) >= 3, 60000);

  for (const id of watched) {
    const list = received.get(id);
    assert.equal(harness.gapless(list), '', `${id}: versions ${list.map((m) => `${m.type[0]}${m.version}`)}`);
    const resumed = list[before.get(id)];
    if (!resumed) continue;
    assert.ok(resumed.type === 'snapshot' || resumed.version === held.get(id) + 1,
      `${id} after the restart: ${resumed.type} v${resumed.version}, the client held v${held.get(id)}`);
    // What the client ends with is what the restarted server holds, or older.
    const snap = await getJson(`/api/orders/${id}`, server.url).catch(() => null);
    if (snap) assert.ok(snap.version >= last.get(id));
  }
});
