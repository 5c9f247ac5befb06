// What every web test needs: the running server (run.sh starts it and sets
// XIAOXIANG_URL), the npm packages of the build tree, the client libraries
// and a way to start a server of one's own (the restart test).
//
// Environment (set by tests/web/run.sh):
//   XIAOXIANG_URL          base URL of the running server, http://127.0.0.1:PORT
//   XIAOXIANG_CLI          the xiaoxiang binary
//   XIAOXIANG_WEB_ROOT     the web root the server serves (page + test pages)
//   XIAOXIANG_WEB_MODULES  node_modules of the build tree (build/web/node_modules)
//   XIAOXIANG_SERVE_ARGS   the serve arguments besides --port (space separated)
//   XIAOXIANG_WEB_OUT      where screenshots go (build/web)
import { spawn } from 'node:child_process';
import { createRequire } from 'node:module';
import { join } from 'node:path';

function need(name) {
  const v = process.env[name];
  if (!v) throw new Error(`${name} is not set: run the web tests through tests/web/run.sh`);
  return v;
}

export const base = process.env.XIAOXIANG_URL ?? '';
export const modules = need('XIAOXIANG_WEB_MODULES');
export const require = createRequire(join(modules, 'package.json'));
export const SockJS = require('sockjs-client');
export const Stomp = require('@stomp/stompjs');
export const harness = createRequire(import.meta.url)('./harness.js');

// GET base + path as JSON; throws with the status on a non-2xx answer.
export async function getJson(path, from = base) {
  const response = await fetch(from + path);
  if (!response.ok) throw new Error(`GET ${path}: HTTP ${response.status} ${await response.text()}`);
  return response.json();
}

export const sleep = (ms) => new Promise((r) => setTimeout(r, ms));

// Order snapshots from /api/orders, waiting (up to timeoutMs) until at least
// `count` of them have one of `statuses`; returns those with the most time
// left first (largest etaSeconds), so that they keep changing while a test
// watches them. `keep` narrows the choice further (e.g. orders with a position).
export async function activeOrders(count, statuses = [3], timeoutMs = 30000, from = base, keep = () => true) {
  const until = Date.now() + timeoutMs;
  for (;;) {
    const body = await getJson('/api/orders?limit=500', from);
    const list = (Array.isArray(body) ? body : body.orders ?? []).filter((o) => statuses.includes(o.status) && keep(o));
    if (list.length >= count) return list.sort((a, b) => (b.etaSeconds ?? -1) - (a.etaSeconds ?? -1)).slice(0, count);
    if (Date.now() > until) throw new Error(`fewer than ${count} orders with status ${statuses} after ${timeoutMs} ms`);
    await sleep(500);
  }
}

// The first http://host:port a server printed.
export function parseUrl(text) {
  const m = /http:\/\/(127\.0\.0\.1|localhost|\[::1\]|0\.0\.0\.0):(\d+)/.exec(text);
  if (m) return `http://127.0.0.1:${m[2]}`;
  const p = /port[ =:]+(\d+)/i.exec(text);
  return p ? `http://127.0.0.1:${p[1]}` : null;
}

// Starts `xiaoxiang serve --port PORT <XIAOXIANG_SERVE_ARGS> <extra>` and
// resolves {url, process, stop()} once it printed where it listens.
export function startServer(port = 0, extra = []) {
  const cli = need('XIAOXIANG_CLI');
  const args = ['serve', '--port', String(port),
    ...(process.env.XIAOXIANG_SERVE_ARGS ?? '').split(' ').filter(Boolean), ...extra];
  const child = spawn(cli, args, { stdio: ['ignore', 'pipe', 'pipe'] });
  let output = '';
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => {
      child.kill('SIGKILL');
      reject(new Error(`serve printed no URL within 20 s: ${output}`));
    }, 20000);
    const onData = (chunk) => {
      output += chunk;
      const url = parseUrl(output);
      if (!url) return;
      clearTimeout(timer);
      child.stdout.off('data', onData);
      child.stderr.off('data', onData);
      child.stdout.resume();
      child.stderr.resume();
      resolve({
        url,
        process: child,
        stop: (signal = 'SIGTERM') => new Promise((done) => {
          if (child.exitCode !== null || child.signalCode !== null) return done();
          const kill = setTimeout(() => child.kill('SIGKILL'), 10000);
          child.once('exit', () => { clearTimeout(kill); done(); });
          child.kill(signal);
        }),
      });
    };
    child.stdout.setEncoding('utf8').on('data', onData);
    child.stderr.setEncoding('utf8').on('data', onData);
    child.once('exit', (code, signal) => {
      clearTimeout(timer);
      reject(new Error(`serve exited (${code ?? signal}) before printing a URL: ${output}`));
    });
  });
}
