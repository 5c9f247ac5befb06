// The live connection, made exactly as the article's Vue snippet does:
//   const socket = new SockJS('/ws'); const stompClient = Stomp.over(socket);
//   stompClient.connect({}, frame => stompClient.subscribe('/topic/orders/' + id,
//     response => { const tracking = JSON.parse(response.body); ... }));
// Stomp.over gets a factory instead of one socket so that stompjs reconnects
// by itself (the article's 断线重连); every subscription is then made again
// with x-since-version, the last version seen, and the server replays the
// missed deltas (or sends a snapshot) so the page never shows a gap.
import SockJS from 'sockjs-client';
import { Stomp } from '@stomp/stompjs';

// Header a SUBSCRIBE carries to resume an order's stream after a version.
export const SINCE_HEADER = 'x-since-version';

export class LiveConnection {
  // base: '' for the page's own server, or 'http://host:port' for another.
  // options.transports: SockJS transport names to allow (default: all).
  // options.sinceVersion(destination): the version to resume from, or undefined.
  constructor(base, options = {}) {
    this.url = base + '/ws';
    this.transports = options.transports;
    this.sinceVersion = options.sinceVersion ?? (() => undefined);
    this.onState = options.onState ?? (() => {});
    this.subs = new Map();    // destination -> {callback, handle}
    this.socket = null;
    this.connected = false;
    this.connects = 0;
    const sockOptions = this.transports ? { transports: this.transports } : {};
    this.stomp = Stomp.over(() => {
      this.socket = new SockJS(this.url, null, sockOptions);
      return this.socket;
    });
    this.stomp.reconnect_delay = options.reconnectDelayMs ?? 1000;
    this.stomp.debug = options.debug ?? (() => {});
  }

  // Name of the SockJS transport in use ('websocket', 'xhr-streaming', ...).
  transport() {
    return this.socket?.transport ?? null;
  }

  start() {
    this.stomp.connect({}, () => {
      this.connected = true;
      this.connects++;
      for (const [destination, sub] of this.subs) this.#subscribe(destination, sub);
      this.onState('up', this.transport());
    }, (frame) => {
      this.onState('error', frame?.headers?.message ?? String(frame));
    }, () => {
      this.connected = false;
      this.onState('down', null);
    });
  }

  // Subscribes (again after every reconnect) and calls callback(json, frame).
  subscribe(destination, callback) {
    const sub = { callback, handle: null };
    this.subs.set(destination, sub);
    if (this.connected) this.#subscribe(destination, sub);
  }

  unsubscribe(destination) {
    const sub = this.subs.get(destination);
    if (!sub) return;
    this.subs.delete(destination);
    if (this.connected && sub.handle) sub.handle.unsubscribe();
  }

  isSubscribed(destination) {
    return this.subs.has(destination);
  }

  // SEND to an application destination, e.g. '/app/tracking'.
  send(destination, body) {
    this.stomp.send(destination, { 'content-type': 'application/json' }, JSON.stringify(body));
  }

  stop() {
    this.stomp.disconnect();
  }

  #subscribe(destination, sub) {
    const headers = {};
    const since = this.sinceVersion(destination);
    if (since !== undefined) headers[SINCE_HEADER] = String(since);
    sub.handle = this.stomp.subscribe(destination, (response) => {
      sub.callback(JSON.parse(response.body), response);
    }, headers);
  }
}
