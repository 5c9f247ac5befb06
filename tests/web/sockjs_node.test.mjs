// SockJS conformance with sockjs-client itself, in Node, forced onto each
// transport it has there: websocket, xhr-streaming, xhr-polling. Uses the
// protocol's standard test services (serve --sockjs-test-services).
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { SockJS, base, harness } from './support/env.mjs';

const NODE_TRANSPORTS = ['websocket', 'xhr-streaming', 'xhr-polling'];

for (const transport of NODE_TRANSPORTS) {
  test(`echo over ${transport}`, async () => {
    const r = await harness.echo(SockJS, base + '/echo', transport);
    assert.equal(r.transport, transport);
    assert.equal(r.received, harness.ECHO_MESSAGES.length);
    assert.ok(r.echoed, 'every message comes back unchanged and in order');
    assert.equal(r.closeCode, 1000);
  });

  test(`server-side close over ${transport}, and a new session after it`, async () => {
    const r = await harness.serverClose(SockJS, base + '/close', transport);
    assert.ok(r.opened, 'the session opens before the server closes it');
    assert.equal(r.transport, transport);
    assert.equal(r.code, 3000);
    assert.equal(r.reason, 'Go away!');
    const again = await harness.echo(SockJS, base + '/echo', transport);
    assert.ok(again.echoed);
  });

  test(`cookie_needed_echo over ${transport}`, async () => {
    const r = await harness.echo(SockJS, base + '/cookie_needed_echo', transport);
    assert.ok(r.echoed);
  });
}

test('disabled_websocket_echo: a websocket-only client is refused, xhr-streaming works', async () => {
  const refused = await harness.failing(SockJS, base + '/disabled_websocket_echo', 'websocket');
  assert.equal(refused.opened, false);
  assert.equal(refused.code, 2000, 'sockjs-client: All transports failed');
  const r = await harness.echo(SockJS, base + '/disabled_websocket_echo', 'xhr-streaming');
  assert.ok(r.echoed);
});

test('/info answers as sockjs-client expects', async () => {
  const response = await fetch(base + '/echo/info', { headers: { Origin: 'http://example.test' } });
  assert.equal(response.status, 200);
  const info = await response.json();
  assert.equal(info.websocket, true);
  assert.equal(typeof info.cookie_needed, 'boolean');
  assert.ok(Array.isArray(info.origins));
  assert.ok(Number.isInteger(info.entropy));
  assert.equal(response.headers.get('access-control-allow-origin'), 'http://example.test');
  assert.equal(response.headers.get('access-control-allow-credentials'), 'true');
  assert.match(response.headers.get('cache-control') ?? '', /no-store/);
  const off = await (await fetch(base + '/disabled_websocket_echo/info')).json();
  assert.equal(off.websocket, false);
});

test('the iframe page loads the sockjs-client the page bundles, from this server', async () => {
  const response = await fetch(base + '/ws/iframe.html');
  assert.equal(response.status, 200);
  const html = await response.text();
  assert.match(html, /src="\/vendor\/sockjs\.min\.js"/);
  const script = await fetch(base + '/vendor/sockjs.min.js');
  assert.equal(script.status, 200);
  assert.match(await script.text(), /1\.6\.1/);
});
