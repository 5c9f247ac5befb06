// Real-client checks of the SockJS / STOMP server, written once and run in
// both places a client lives: Node (required as CommonJS) and Chromium
// (loaded as a plain <script>, exposed as window.harness). Each check takes
// the client libraries as arguments (sockjs-client's SockJS, @stomp/stompjs'
// module) so that the same code drives the npm packages in Node and the
// bundled browser builds in the page.
(function (root, factory) {
  if (typeof module === 'object' && module.exports) module.exports = factory();
  else root.harness = factory();
})(typeof self !== 'undefined' ? self : this, function () {
  'use strict';

  // Messages every echo check sends: plain, JSON, non-ASCII (incl. the
  // separators JSON-in-JS mangles), and one long enough to span frames.
  const ECHO_MESSAGES = [
    'hello',
    JSON.stringify({ a: 1, b: [true, null, 'x'] }),
    '中文 \u2028 \u2029 \u00e9 \ud83d\ude00',
    'x'.repeat(20000),
  ];

  function withTimeout(promise, ms, what) {
    let timer;
    return Promise.race([
      promise,
      new Promise((_, reject) => {
        timer = setTimeout(() => reject(new Error(`${what}: no answer within ${ms} ms`)), ms);
      }),
    ]).finally(() => clearTimeout(timer));
  }

  // Connects to an echo service on one transport, sends ECHO_MESSAGES and
  // expects them back in order, then closes. Resolves
  // {transport, echoed, closeCode, closeReason}.
  function echo(SockJS, url, transport, timeoutMs = 20000) {
    return withTimeout(new Promise((resolve, reject) => {
      const sock = new SockJS(url, null, { transports: [transport], timeout: timeoutMs });
      const got = [];
      let opened = false;
      let name = null;  // sockjs-client forgets its transport on close
      sock.onopen = () => {
        opened = true;
        name = sock.transport;
        for (const m of ECHO_MESSAGES) sock.send(m);
      };
      sock.onmessage = (e) => {
        got.push(e.data);
        if (got.length === ECHO_MESSAGES.length) sock.close(1000, 'done');
      };
      sock.onclose = (e) => {
        if (!opened) {
          reject(new Error(`${transport}: closed before open: ${e.code} ${e.reason}`));
          return;
        }
        const echoed = got.length === ECHO_MESSAGES.length && got.every((m, i) => m === ECHO_MESSAGES[i]);
        resolve({ transport: name, echoed, received: got.length, closeCode: e.code, closeReason: e.reason });
      };
    }), timeoutMs + 2000, `echo over ${transport}`);
  }

  // Opens a session the server closes at once (the protocol's `close`
  // service: close frame 3000 "Go away!"). Resolves {opened, transport,
  // code, reason}.
  function serverClose(SockJS, url, transport, timeoutMs = 20000) {
    return withTimeout(new Promise((resolve) => {
      const sock = new SockJS(url, null, { transports: [transport], timeout: timeoutMs });
      let opened = false;
      let name = null;
      sock.onopen = () => { opened = true; name = sock.transport; };
      sock.onclose = (e) => resolve({ opened, transport: name, code: e.code, reason: e.reason });
    }), timeoutMs + 2000, `close over ${transport}`);
  }

  // A session that must fail: resolves {opened, code, reason} of the close.
  function failing(SockJS, url, transport, timeoutMs = 20000) {
    return serverClose(SockJS, url, transport, timeoutMs);
  }

  // @stomp/stompjs over SockJS on the given transports: connects to `url`
  // (the /ws endpoint), subscribes to each order of `orderIds` and collects
  // what arrives until `count` messages per order (or the time is up).
  // since: {orderId: version} resumes those subscriptions (x-since-version).
  // needAll false: done as soon as one order has `count` (a simulated rider
  // may go silent or stand still, so tests watch a few orders at once).
  // Resolves {transport, connectedHeaders, disconnectReceipt, orders: {id:
  // [{version, type, status, destination, subscription, messageId,
  // contentType}]}}.
  function stompCollect(SockJS, Stomp, url, transports, orderIds, count, timeoutMs = 30000, since = {}, needAll = true) {
    return new Promise((resolve, reject) => {
      let socket = null;
      const orders = {};
      for (const id of orderIds) orders[id] = [];
      let connectedHeaders = null;
      let transport = null;
      const client = new Stomp.Client({
        webSocketFactory: () => {
          socket = new SockJS(url, null, transports ? { transports } : {});
          return socket;
        },
        reconnectDelay: 0,
        heartbeatIncoming: 10000,
        heartbeatOutgoing: 10000,
        debug: () => {},
      });
      // DISCONNECT asks for a RECEIPT (stompjs' onDisconnect); a server that
      // never answers must not hang the test, so the wait is bounded.
      let receipted = false;
      client.onDisconnect = () => { receipted = true; };
      let finished = false;
      const done = (error) => {
        if (finished) return;
        finished = true;
        clearTimeout(timer);
        const stop = client.deactivate();
        withTimeout(stop, 3000, 'DISCONNECT receipt').catch(() => client.forceDisconnect()).finally(() => {
          if (error) reject(error);
          else resolve({ transport, connectedHeaders, orders, disconnectReceipt: receipted });
        });
      };
      const timer = setTimeout(() => done(null), timeoutMs);
      client.onConnect = (frame) => {
        connectedHeaders = frame.headers;
        transport = socket && socket.transport;
        for (const id of orderIds) {
          client.subscribe('/topic/orders/' + id, (m) => {
            const body = JSON.parse(m.body);
            orders[id].push({
              version: body.version, type: body.type, status: body.status, orderId: body.orderId,
              destination: m.headers.destination, subscription: m.headers.subscription,
              messageId: m.headers['message-id'], contentType: m.headers['content-type'],
            });
            const enough = (o) => orders[o].length >= count;
            if (needAll ? orderIds.every(enough) : orderIds.some(enough)) done(null);
          }, since[id] === undefined ? { id: 'sub-' + id }
            : { id: 'sub-' + id, 'x-since-version': String(since[id]) });
        }
      };
      client.onStompError = (frame) => done(new Error('STOMP ERROR: ' + (frame.headers.message || frame.body)));
      client.onWebSocketClose = (e) => {
        if (!connectedHeaders) done(new Error(`closed before CONNECTED: ${e && e.code} ${e && e.reason}`));
      };
      client.activate();
    });
  }

  // True when a list of received order messages has no silent gap: after the
  // first (a snapshot, or the version resumed from), each delta is version
  // last + 1; a snapshot may reset the baseline. Returns '' or what is wrong.
  function gapless(messages, startVersion) {
    let last = startVersion;
    for (const m of messages) {
      if (m.type === 'snapshot') { last = m.version; continue; }
      if (last === undefined) return `delta v${m.version} before any snapshot`;
      if (m.version !== last + 1) return `delta v${m.version} after v${last}`;
      last = m.version;
    }
    return '';
  }

  return { ECHO_MESSAGES, withTimeout, echo, serverClose, failing, stompCollect, gapless };
});
