// Headless Chromium (Debian's chromium driven by playwright-core; never a
// downloaded browser) against the running server:
//  - sockjs-client forced onto each transport, including those Node lacks
//    (eventsource, iframe-htmlfile, jsonp-polling), from the server's own
//    origin and from a second origin (a static server on another port),
//    with credentials;
//  - STOMP over each of them;
//  - the live page: riders move, the selected order changes status; a
//    screenshot is saved for the docs.
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync, readFileSync, existsSync, statSync } from 'node:fs';
import { createServer } from 'node:http';
import { tmpdir } from 'node:os';
import { extname, join, normalize } from 'node:path';
import { after, before, test } from 'node:test';
import { activeOrders, base, harness, require } from './support/env.mjs';

process.env.PLAYWRIGHT_SKIP_BROWSER_DOWNLOAD = '1';
const { chromium } = require('playwright-core');

const CHROMIUM = process.env.XIAOXIANG_CHROMIUM ?? '/usr/bin/chromium';
const webRoot = process.env.XIAOXIANG_WEB_ROOT;
const outDir = process.env.XIAOXIANG_WEB_OUT ?? tmpdir();
const FLAGS = [
  '--headless', '--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run',
  '--disable-background-networking', '--disable-component-update', '--disable-sync',
  // Nothing leaves the machine: every name resolves to nowhere but 127.0.0.1.
  '--host-resolver-rules=MAP * ~NOTFOUND, EXCLUDE 127.0.0.1',
];
const BROWSER_TRANSPORTS = ['eventsource', 'iframe-htmlfile', 'jsonp-polling', 'websocket', 'xhr-streaming', 'xhr-polling'];
const TYPES = { '.html': 'text/html; charset=utf-8', '.js': 'text/javascript', '.css': 'text/css', '.map': 'application/json' };

let context;
let profile;
let otherOrigin;
let staticServer;

before(async () => {
  if (!existsSync(CHROMIUM)) throw new Error(`${CHROMIUM} missing: apt-get install chromium (scripts/setup.sh)`);
  // The second origin: the same files from another port.
  staticServer = createServer((req, res) => {
    const path = normalize(decodeURIComponent(new URL(req.url, 'http://x').pathname)).replace(/^(\.\.[/\\])+/, '');
    const file = join(webRoot, path);
    if (!file.startsWith(webRoot) || !existsSync(file) || !statSync(file).isFile()) {
      res.writeHead(404).end();
      return;
    }
    res.writeHead(200, { 'content-type': TYPES[extname(file)] ?? 'application/octet-stream' });
    res.end(readFileSync(file));
  });
  await new Promise((r) => staticServer.listen(0, '127.0.0.1', r));
  otherOrigin = `http://127.0.0.1:${staticServer.address().port}`;
  profile = mkdtempSync(join(tmpdir(), 'xiaoxiang-chromium-'));
  context = await chromium.launchPersistentContext(profile, {
    executablePath: CHROMIUM, headless: true, args: FLAGS, viewport: { width: 1400, height: 860 },
  });
});

after(async () => {
  await context?.close();
  staticServer?.close();
  if (profile) rmSync(profile, { recursive: true, force: true });
});

async function harnessPage(origin) {
  const page = await context.newPage();
  const errors = [];
  page.on('pageerror', (e) => {
    // sockjs-client's jsonp-polling removes its callback when a session
    // closes; a poll answer still in flight then calls a missing _jp.* (the
    // reference sockjs-node server shows the same). Not a server fault.
    if (!/_jp\.\w+ is not a function/.test(String(e))) errors.push(String(e));
  });
  await page.goto(`${origin}/harness/harness.html`);
  await page.waitForFunction(() => window.harness && window.SockJS && window.StompJs);
  page.errors = errors;
  return page;
}

for (const [where, originOf] of [['same origin', () => base], ['cross origin', () => otherOrigin]]) {
  test(`sockjs-client in Chromium, ${where}: echo, server close, STOMP on every transport`, { timeout: 300000 }, async () => {
    const page = await harnessPage(originOf());
    const watched = (await activeOrders(3)).map((o) => o.orderId);  // one may go silent
    for (const transport of BROWSER_TRANSPORTS) {
      const echo = await page.evaluate(([url, t]) => harness.echo(SockJS, url, t), [base + '/echo', transport]);
      assert.equal(echo.transport, transport, `${where}: sockjs-client chose ${echo.transport}`);
      assert.ok(echo.echoed, `${where} ${transport}: ${echo.received} of ${4} echoed`);

      const closed = await page.evaluate(([url, t]) => harness.serverClose(SockJS, url, t), [base + '/close', transport]);
      assert.ok(closed.opened, `${where} ${transport}: close service opened`);
      assert.equal(closed.code, 3000);
      assert.equal(closed.reason, 'Go away!');

      const cookie = await page.evaluate(([url, t]) => harness.echo(SockJS, url, t), [base + '/cookie_needed_echo', transport]);
      assert.ok(cookie.echoed, `${where} ${transport}: cookie_needed_echo`);

      const stomp = await page.evaluate(([url, t, ids]) =>
        harness.stompCollect(SockJS, StompJs, url, [t], ids, 2, 30000, {}, false), [base + '/ws', transport, watched]);
      assert.equal(stomp.transport, transport);
      const lists = Object.values(stomp.orders);
      assert.ok(lists.some((l) => l.length >= 2), `${where} ${transport}: ${lists.map((l) => l.length)} STOMP messages`);
      for (const list of lists.filter((l) => l.length)) {
        assert.equal(list[0].type, 'snapshot');
        assert.equal(harness.gapless(list), '');
      }
    }
    assert.deepEqual(page.errors, []);
    await page.close();
  });
}

test('the live page: riders move, the selected order changes status; screenshot', { timeout: 240000 }, async () => {
  // Watch an order about to change: one in the warehouse (Paid, furthest
  // in picking) soon leaves with a rider or is cancelled; else the
  // delivering one nearest arrival (an ETA of 0 may be a stuck rider).
  await activeOrders(1, [2, 3]);
  const all = await (await fetch(base + '/api/orders?limit=500')).json();
  const list = Array.isArray(all) ? all : all.orders;
  const paid = list.filter((o) => o.status === 2).sort((a, b) => b.pickingStage - a.pickingStage);
  const delivering = list.filter((o) => o.status === 3 && o.etaSeconds > 30).sort((a, b) => a.etaSeconds - b.etaSeconds);
  const watch = (paid[0] ?? delivering[0] ?? list.find((o) => o.status < 4)).orderId;

  const page = await context.newPage();
  const errors = [];
  page.on('pageerror', (e) => errors.push(String(e)));
  await page.goto(`${base}/?order=${encodeURIComponent(watch)}`);
  await page.waitForFunction(() => window.xiaoxiang?.transport, null, { timeout: 30000 });
  await page.waitForFunction(() => window.xiaoxiang.riderMoves >= 10, null, { timeout: 60000 });
  await page.waitForFunction(() => window.xiaoxiang.statusChanges.length >= 1, null, { timeout: 180000, polling: 500 });
  const seen = await page.evaluate(() => JSON.parse(JSON.stringify(window.xiaoxiang)));
  assert.equal(seen.selected, watch);
  assert.equal(seen.gaps, 0, 'no version gap reached the page');
  assert.equal(seen.transport, 'websocket');
  const change = seen.statusChanges[0];
  assert.equal(change.orderId, watch);
  const label = await page.textContent('#status');
  assert.match(label, /待支付|仓库处理中|配送中|已送达|已取消/);
  const rows = await page.$$eval('#order-rows tr', (trs) => trs.length);
  assert.ok(rows >= 1, 'the order list has rows');
  if (change.to === 3) {
    // Out for delivery: the planned route appears and the trajectory grows.
    await page.waitForFunction(() => window.xiaoxiang.routePoints > 1 && window.xiaoxiang.trackPoints >= 6,
      null, { timeout: 60000, polling: 250 });
  }
  await page.waitForTimeout(1000);  // a few more frames of riders on the map
  await page.screenshot({ path: join(outDir, 'screenshot.png') });
  assert.deepEqual(errors, []);
  await page.close();
});
