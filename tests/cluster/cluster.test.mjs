// The cluster test of issue 10, on one machine: Redis, PostgreSQL, two
// tracker nodes consuming 8 partitions (0-3 and 4-7), two WebSocket-only
// nodes, the simulator's event log fed into the queue at a live pace, and
// @stomp/stompjs clients (over sockjs-client) spread over both WebSocket
// nodes, each watching one order. Mid-stream one tracker node is killed
// with SIGKILL and started again, then one WebSocket node is killed with
// SIGKILL: its clients reconnect to the other node and resume from the
// last version they hold.
//
// Checked at the end, against the simulator's event log and a
// single-process run (one node reading the same events from one partition,
// the log's own order, into its own database):
// - every order event of the log is reflected exactly once in PostgreSQL,
//   no (order, version) twice, no version gap;
// - the orders rows, the status / picking / assignment records and the
//   (order, event) position records equal the single-process run's;
// - every client saw every version of its order in order (or a snapshot
//   announced as such) up to the version PostgreSQL holds.
//
// run.sh starts the servers and sets XIAOXIANG_CLI, XIAOXIANG_WEB_MODULES,
// XIAOXIANG_CLUSTER_DIR, XIAOXIANG_REDIS, XIAOXIANG_REDIS_REF, XIAOXIANG_PG.
import assert from 'node:assert/strict';
import { execFileSync, spawn } from 'node:child_process';
import { createWriteStream, readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { join } from 'node:path';
import { test } from 'node:test';

function need(name) {
  const v = process.env[name];
  if (!v) throw new Error(`${name} is not set: run the cluster test through tests/cluster/run.sh`);
  return v;
}
const cli = need('XIAOXIANG_CLI');
const dir = need('XIAOXIANG_CLUSTER_DIR');
const redis = need('XIAOXIANG_REDIS');
const redisRef = need('XIAOXIANG_REDIS_REF');
const pg = need('XIAOXIANG_PG');
const pgRef = pg.replace(/dbname=\S+/, 'dbname=reference');
const modules = createRequire(join(need('XIAOXIANG_WEB_MODULES'), 'package.json'));
const SockJS = modules('sockjs-client');
const { Client } = modules('@stomp/stompjs');
const { gapless } = createRequire(import.meta.url)('../web/support/harness.js');

const sleep = (ms) => new Promise((r) => setTimeout(r, ms));
async function waitFor(what, predicate, ms) {
  const until = Date.now() + ms;
  for (;;) {
    if (await predicate()) return;
    if (Date.now() > until) throw new Error(`${what}: not within ${ms} ms`);
    await sleep(100);
  }
}

// A `xiaoxiang serve` node: resolves once it printed its URL. Its output
// goes to DIR/logs/<name>.log (run.sh prints the tails when a check fails).
function startNode(name, args) {
  const child = spawn(cli, ['serve', '--port', '0', '--threads', '1', ...args],
    { stdio: ['ignore', 'pipe', 'pipe'] });
  const log = createWriteStream(join(dir, 'logs', `${name}.log`), { flags: 'a' });
  let output = '';
  const exited = new Promise((resolve) => child.on('exit', (code, signal) => resolve({ code, signal })));
  const onData = (chunk) => { output += chunk; log.write(chunk); };
  child.stdout.on('data', onData);
  child.stderr.on('data', onData);
  const node = {
    name, child, exited,
    output: () => output,
    async stop(signal = 'SIGTERM') {
      if (child.exitCode === null && child.signalCode === null) child.kill(signal);
      return exited;
    },
  };
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`${name} printed no URL: ${output}`)), 20000);
    const poll = setInterval(() => {
      const m = /http:\/\/127\.0\.0\.1:(\d+)\//.exec(output);
      if (m) {
        clearTimeout(timer);
        clearInterval(poll);
        node.url = `http://127.0.0.1:${m[1]}`;
        resolve(node);
      } else if (child.exitCode !== null) {
        clearTimeout(timer);
        clearInterval(poll);
        reject(new Error(`${name} exited ${child.exitCode}: ${output}`));
      }
    }, 50);
  });
}

const psql = (conninfo, sql) =>
  execFileSync('psql', ['-X', '-q', '-tA', '-v', 'ON_ERROR_STOP=1', conninfo, '-c', sql], { encoding: 'utf8' });

// Entries of the consumer group not yet acknowledged, over `count` streams:
// pending (delivered, not acked) plus lag (not delivered yet).
function backlog(endpoint, count) {
  const port = endpoint.split(':')[1];
  let total = 0;
  for (let p = 0; p < count; p++) {
    const out = execFileSync('redis-cli', ['-h', '127.0.0.1', '-p', port, 'XINFO', 'GROUPS', `xx:events:${p}`],
      { encoding: 'utf8' }).split('\n');
    if (out.length < 2) return Infinity;  // no group yet
    for (const key of ['pending', 'lag']) {
      const i = out.indexOf(key);
      const v = i >= 0 ? Number(out[i + 1]) : NaN;
      if (!Number.isFinite(v)) return Infinity;  // lag unknown (after a trim)
      total += v;
    }
  }
  return total;
}

function feed(endpoint, events, extra) {
  return execFileSync(cli, ['queue-feed', '--redis', endpoint, '--in', events, ...extra], { encoding: 'utf8' });
}

// What the two runs must agree on (sorted text, one row per line).
const comparisons = {
  'orders (all columns but version and update_time)':
    `SELECT id, user_id, status, total_amount, create_time, warehouse_id, rider_id, origin_lon, origin_lat,
            destination_lon, destination_lat, address, promised_time, picking_stage FROM orders`,
  'status, picking and assignment records':
    `SELECT order_id, source_event, status, kind, operator_id, operator_type, address, create_time
       FROM order_tracking WHERE kind <> 2`,
  '(order, event) position records':
    `SELECT order_id, source_event, count(*), min(create_time), max(create_time), min(longitude), max(latitude)
       FROM order_tracking WHERE kind = 2 GROUP BY order_id, source_event`,
};
const rows = (conninfo, sql) => psql(conninfo, sql).split('\n').filter(Boolean).sort();

test('cluster: 2 tracker + 2 WebSocket nodes, SIGKILL of each kind, against one process', { timeout: 300000 }, async (t) => {
  const nodes = [];
  t.after(async () => { for (const n of nodes) await n.stop('SIGKILL'); });
  const start = async (name, args) => { const n = await startNode(name, args); nodes.push(n); return n; };

  // The city: 40 riders for 40 minutes, three hours ago (within the
  // tracker's position age limit), ~7,100 events with the sim's duplicates,
  // late fixes and offline batches.
  // The sim's demand follows the city's clock (UTC+8): at night (before 7:00
  // there) it is 0.3 of the day's, so the rate is raised to keep ~50-80
  // orders whatever time of day the test runs.
  const simStart = Date.now() - 3 * 3600 * 1000;
  const localHour = new Date(simStart + 8 * 3600 * 1000).getUTCHours();
  const perRiderHour = localHour < 7 ? '8.3' : '2.5';
  execFileSync(cli, ['sim', '--seed', '7', '--riders', '40', '--minutes', '40', '--out', join(dir, 'city'),
    '--start', String(simStart), '--orders-per-rider-hour', perRiderHour]);
  const events = join(dir, 'city', 'events.jsonl');
  const log = readFileSync(events, 'utf8').split('\n').filter(Boolean).map((l) => JSON.parse(l));
  const orderKinds = new Set(['order_created', 'order_paid', 'picking_stage', 'rider_assigned',
    'order_delivered', 'order_cancelled']);
  const orderIds = [...new Set(log.filter((e) => e.type === 'order_created').map((e) => e.orderId))];
  assert.ok(log.length > 5000 && orderIds.length > 50, `${log.length} events, ${orderIds.length} orders`);

  // --- the single-process run: one node, one partition, its own database.
  psql(pg, 'CREATE DATABASE reference');
  const ref = await start('reference', ['--redis', redisRef, '--partition-count', '1', '--partitions', 'all',
    '--pg', pgRef, '--node', 'reference']);
  feed(redisRef, events, ['--partition-count', '1']);
  await waitFor('the reference consumed the log', () => backlog(redisRef, 1) === 0, 60000);
  assert.equal((await ref.stop()).code, 0, ref.output());

  // --- the cluster.
  const tracker = (part) => ['--redis', redis, '--partitions', part, '--pg', pg, '--node', `tracker-${part}`];
  let t1 = await start('tracker-0-3', tracker('0-3'));
  const t2 = await start('tracker-4-7', tracker('4-7'));
  const w1 = await start('ws-1', ['--redis', redis, '--node', 'ws-1']);
  const w2 = await start('ws-2', ['--redis', redis, '--node', 'ws-2']);
  const wsUrls = [w1.url, w2.url];

  // Clients: every third order (some created long after the client
  // subscribed), alternately on ws-1 and ws-2. A client's connection
  // attempts go round the nodes, starting at its own.
  const watched = orderIds.filter((_, i) => i % 3 === 0);
  const clients = watched.map((orderId, i) => {
    const c = { orderId, home: i % 2, attempts: 0, connects: [], messages: [], last: undefined };
    c.stomp = new Client({
      webSocketFactory: () => new SockJS(wsUrls[(c.home + c.attempts++) % 2] + '/ws',
        null, { transports: ['websocket'] }),
      reconnectDelay: 200,
      heartbeatIncoming: 0,
      heartbeatOutgoing: 0,
      debug: () => {},
    });
    c.stomp.onConnect = () => {
      c.connects.push({ node: (c.home + c.attempts - 1) % 2, at: c.messages.length, held: c.last, when: Date.now() });
      const headers = { id: 'sub-' + orderId };
      if (c.last !== undefined) headers['x-since-version'] = String(c.last);
      c.stomp.subscribe('/topic/orders/' + orderId, (m) => {
        const body = JSON.parse(m.body);
        c.messages.push({ version: body.version, type: body.type });
        c.last = body.version;
      }, headers);
    };
    c.stomp.activate();
    return c;
  });
  t.after(() => Promise.all(clients.map((c) => c.stomp.deactivate())));
  await waitFor('every client connected', () => clients.every((c) => c.connects.length > 0), 30000);
  await sleep(300);  // the SUBSCRIBE frames are on their way

  // --- the stream, with a SIGKILL of each kind of node.
  const feeder = spawn(cli, ['queue-feed', '--redis', redis, '--in', events, '--rate', '700'],
    { stdio: ['ignore', 'pipe', 'pipe'] });
  let feedOutput = '';
  feeder.stdout.on('data', (d) => { feedOutput += d; });
  feeder.stderr.on('data', (d) => { feedOutput += d; });
  const fed = new Promise((resolve) => feeder.on('exit', resolve));
  t.after(() => feeder.kill('SIGKILL'));

  await sleep(3000);
  const killed = await t1.stop('SIGKILL');
  assert.equal(killed.signal, 'SIGKILL');
  assert.ok(backlog(redis, 8) > 0, 'the tracker was killed after the stream, not in it');
  await sleep(1500);
  t1 = await start('tracker-0-3-restarted', tracker('0-3'));  // same consumer name: reads its pending first
  await sleep(2000);
  const w1Clients = clients.filter((c) => c.home === 0);
  const w1KilledAt = Date.now();
  assert.equal((await w1.stop('SIGKILL')).signal, 'SIGKILL');

  assert.equal(await fed, 0, feedOutput);
  assert.match(feedOutput, new RegExp(`^${log.length} events, \\d+ stream entries into 8 partitions`));
  await waitFor('the cluster consumed the log', () => backlog(redis, 8) === 0, 60000);

  // Every client reaches the version its order has in PostgreSQL.
  const versions = new Map(psql(pg, 'SELECT id, version FROM orders').split('\n').filter(Boolean)
    .map((l) => l.split('|')).map(([id, v]) => [id, Number(v)]));
  await waitFor('every client at its order\'s last version', () =>
    clients.every((c) => c.last === versions.get(c.orderId)), 30000).catch((e) => {
    const behind = clients.filter((c) => c.last !== versions.get(c.orderId))
      .map((c) => `${c.orderId}: client v${c.last}, PostgreSQL v${versions.get(c.orderId)}`);
    throw new Error(`${e.message}: ${behind.join('; ')}`);
  });
  await Promise.all(clients.map((c) => c.stomp.deactivate()));
  for (const n of [t1, t2, w2]) {
    const { code } = await n.stop('SIGTERM');
    assert.equal(code, 0, `${n.name} exited ${code}: ${n.output()}`);
  }
  const summary = (n) => /consumed (\d+) entries \((\d+) accepted, (\d+) duplicates, (\d+) rejected/.exec(n.output());
  for (const n of [t1, t2]) assert.ok(summary(n), n.output());
  assert.equal(Number(summary(t1)[4]) + Number(summary(t2)[4]), 0, 'rejected events');

  // --- PostgreSQL against the log: each order event exactly once.
  const perEvent = new Map(psql(pg, `SELECT order_id || ' ' || source_event, count(*) FROM order_tracking
      WHERE kind <> 2 GROUP BY 1`).split('\n').filter(Boolean).map((l) => l.split('|')).map(([k, n]) => [k, Number(n)]));
  const orderEvents = new Set(log.filter((e) => orderKinds.has(e.type)).map((e) => `${e.orderId} ${e.eventId}`));
  for (const key of orderEvents) assert.equal(perEvent.get(key), 1, `records of ${key}`);
  assert.equal(perEvent.size, orderEvents.size, 'records of order events the log does not have');
  assert.equal(psql(pg, `SELECT count(*) FROM (SELECT order_id, version FROM order_tracking
      GROUP BY 1, 2 HAVING count(*) > 1) d`).trim(), '0', 'an (order, version) twice');
  assert.equal(psql(pg, `SELECT count(*) FROM (SELECT order_id FROM order_tracking
      GROUP BY 1 HAVING max(version) <> count(*)) g`).trim(), '0', 'orders with a version gap');
  assert.equal(versions.size, orderIds.length, 'orders in PostgreSQL');

  // --- the final states equal the single-process run's.
  for (const [what, sql] of Object.entries(comparisons)) {
    const got = rows(pg, sql);
    const want = rows(pgRef, sql);
    assert.ok(want.length > 0, `${what}: the reference has none`);
    const missing = want.filter((r) => !got.includes(r)).slice(0, 5);
    const extra = got.filter((r) => !want.includes(r)).slice(0, 5);
    assert.deepEqual({ missing, extra, count: got.length }, { missing: [], extra: [], count: want.length }, what);
  }

  // --- every client saw every version, in order.
  for (const c of clients) {
    assert.equal(gapless(c.messages, 0), '', `${c.orderId}: ${c.messages.map((m) => `${m.type[0]}${m.version}`)}`);
  }
  // ws-1's clients moved to ws-2 and resumed where they were: the next
  // message after the reconnect is the next version or a snapshot.
  let resumed = 0;
  for (const c of w1Clients) {
    const again = c.connects.filter((k) => k.when >= w1KilledAt);
    assert.ok(again.length > 0, `${c.orderId} did not reconnect after ws-1 was killed`);
    assert.equal(again[again.length - 1].node, 1, `${c.orderId} reconnected to ws-1`);
    const first = c.messages[again[0].at];
    if (!first) continue;  // its order did not change after the kill
    resumed++;
    // (A client whose order did not exist yet holds nothing: baseline 0.)
    assert.ok(first.type === 'snapshot' || first.version === (again[0].held ?? 0) + 1,
      `${c.orderId} after the reconnect: ${first.type} v${first.version}, held v${again[0].held}`);
  }
  assert.ok(resumed > 0, 'no ws-1 client received anything after the reconnect');
  t.diagnostic(`${log.length} events, ${orderIds.length} orders, ${clients.length} clients ` +
    `(${clients.reduce((n, c) => n + c.messages.length, 0)} messages, ${resumed} resumed on ws-2); ` +
    `restarted tracker: ${summary(t1)[0]}`);
});
