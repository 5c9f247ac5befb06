// The dispatch console: wires the map, the order list and the detail panel
// to the server's HTTP API and its STOMP topics.
//
// Query parameters (all optional):
//   server=http://host:port   talk to another origin's xiaoxiang server
//   transports=a,b            SockJS transports to allow (e.g. xhr-streaming)
//   order=ID                  order to select at start
//   limit=N                   orders in the list (default 30)
import { LiveConnection } from './live.js';
import { MapView } from './map_view.js';
import { OrderStore } from './order_store.js';
import { lines, points } from './geojson.js';
import {
  ALERT_LABELS, PICKING_LABELS, STATUS_NAMES, isTerminal, statusLabel, statusRank,
} from './status.js';

const params = new URLSearchParams(location.search);
const base = (params.get('server') ?? '').replace(/\/$/, '');
const transports = params.get('transports')?.split(',').filter(Boolean);
const listLimit = Number(params.get('limit') ?? 30);
const ORDER_TOPIC = '/topic/orders/';
const RIDERS_TOPIC = '/topic/riders';
const LIST_REFRESH_MS = 5000;

const $ = (id) => document.getElementById(id);
const store = new OrderStore();
const map = new MapView($('map'));
const listed = new Set();           // order ids in the list
let selectedId = params.get('order');
let selectedTrack = [];             // [[lon, lat]] of the selected order so far
let selectedRoute = [];

// What the page has seen, for people in the console and for the browser test.
const seen = {
  transport: null, connects: 0, messages: 0, riderMessages: 0, riderMoves: 0,
  orderMessages: 0, gaps: 0, selected: null, statusChanges: [], errors: [],
  routePoints: 0, trackPoints: 0,
};
window.xiaoxiang = seen;

const live = new LiveConnection(base, {
  transports,
  sinceVersion: (destination) =>
    destination.startsWith(ORDER_TOPIC) ? store.version(destination.slice(ORDER_TOPIC.length)) : undefined,
  onState: (state, detail) => {
    const conn = $('conn');
    if (state === 'up') {
      seen.transport = detail;
      seen.connects = live.connects;
      conn.textContent = `live · ${detail ?? 'sockjs'}`;
      conn.className = 'conn conn-up';
    } else {
      conn.textContent = state === 'error' ? `error: ${detail}` : 'reconnecting…';
      conn.className = 'conn conn-down';
      if (state === 'error') seen.errors.push(String(detail));
    }
  },
});

async function getJson(path) {
  const response = await fetch(base + path, { credentials: base ? 'include' : 'same-origin' });
  if (!response.ok) throw new Error(`${path}: HTTP ${response.status}`);
  return response.json();
}

// ---- map ------------------------------------------------------------------

async function loadCity() {
  try {
    const city = await getJson('/api/city');
    const streets = lines(city).map((l) => ({ coords: l.coords, kind: l.properties.kind }));
    const warehouses = points(city)
      .filter((p) => p.properties.kind === 'warehouse' || p.properties.id)
      .map((p) => ({ lon: p.lon, lat: p.lat, id: p.properties.id ?? '', radiusM: p.properties.serviceRadiusM ?? 0 }));
    map.setCity(streets, warehouses);
  } catch (e) {
    seen.errors.push(String(e));
  }
}

function onRider(msg) {
  seen.messages++;
  seen.riderMessages++;
  for (const m of Array.isArray(msg) ? msg : [msg]) {
    if (!Number.isFinite(m.longitude) || !Number.isFinite(m.latitude)) continue;
    const before = map.riders.get(m.riderId);
    if (before && (before.lon !== m.longitude || before.lat !== m.latitude)) seen.riderMoves++;
    map.setRider(m.riderId, m.longitude, m.latitude);
  }
  $('stat-riders').textContent = map.riders.size;
}

// ---- orders -----------------------------------------------------------------

function onOrder(tracking) {
  seen.messages++;
  seen.orderMessages++;
  const before = store.get(tracking.orderId)?.status;
  const outcome = store.apply(tracking);
  if (outcome === 'gap') {
    // The server promises no silent gap; should one come anyway, fetch the truth.
    seen.gaps++;
    refreshOrder(tracking.orderId);
    return;
  }
  if (outcome !== 'applied') return;
  updateOrderTracking(store.get(tracking.orderId), before);
}

// What the article's updateOrderTracking(tracking) does: move the marker,
// show the status label, the ETA and the alerts.
function updateOrderTracking(tracking, statusBefore) {
  if (tracking.orderId === selectedId) {
    if (statusBefore !== undefined && statusBefore !== tracking.status) {
      seen.statusChanges.push({ orderId: tracking.orderId, from: statusBefore, to: tracking.status, version: tracking.version });
      // A route is planned when a rider takes the order: fetch it then.
      loadRoute(tracking.orderId);
    }
    if (Number.isFinite(tracking.longitude) && Number.isFinite(tracking.latitude)) {
      const last = selectedTrack[selectedTrack.length - 1];
      if (!last || last[0] !== tracking.longitude || last[1] !== tracking.latitude) {
        selectedTrack.push([tracking.longitude, tracking.latitude]);
      }
    }
    renderDetail();
  }
  renderList();
}

async function refreshOrder(id) {
  try {
    const snap = await getJson(`/api/orders/${encodeURIComponent(id)}`);
    const before = store.get(id)?.status;
    if (store.offerSnapshot(snap)) updateOrderTracking(store.get(id), before);
  } catch (e) {
    seen.errors.push(String(e));
  }
}

async function refreshList() {
  let snaps;
  try {
    const body = await getJson(`/api/orders?limit=${listLimit}`);
    snaps = Array.isArray(body) ? body : (body.orders ?? []);
  } catch (e) {
    seen.errors.push(String(e));
    return;
  }
  const ids = new Set(snaps.map((s) => s.orderId));
  for (const s of snaps) {
    const before = store.get(s.orderId)?.status;
    if (store.offerSnapshot(s) && s.orderId === selectedId) updateOrderTracking(store.get(s.orderId), before);
  }
  // Keep every listed order (and the selected one) subscribed; drop the rest.
  for (const id of listed) {
    if (!ids.has(id) && id !== selectedId) {
      live.unsubscribe(ORDER_TOPIC + id);
      store.forget(id);
    }
  }
  listed.clear();
  for (const id of ids) listed.add(id);
  for (const id of ids) {
    if (!live.isSubscribed(ORDER_TOPIC + id)) live.subscribe(ORDER_TOPIC + id, onOrder);
  }
  if (!selectedId) {
    // Prefer an order that is about to change: delivering, then picking.
    const pick = [...snaps].sort((a, b) => statusRank(a.status) - statusRank(b.status))[0];
    if (pick) select(pick.orderId);
  }
  $('stat-orders').textContent = ids.size;
  renderList();
}

async function select(id) {
  selectedId = id;
  seen.selected = id;
  selectedTrack = [];
  selectedRoute = [];
  if (!live.isSubscribed(ORDER_TOPIC + id)) live.subscribe(ORDER_TOPIC + id, onOrder);
  renderDetail();
  renderList();
  const url = new URL(location.href);
  url.searchParams.set('order', id);
  history.replaceState(null, '', url);
  const [, track] = await Promise.allSettled([
    loadRoute(id),
    getJson(`/api/orders/${encodeURIComponent(id)}/track`),
  ]);
  if (id !== selectedId) return;
  if (track.status === 'fulfilled') {
    // The stored trajectory first, then what arrived live meanwhile.
    const stored = lines(track.value).flatMap((l) => l.coords.map((c) => [c[0], c[1]]));
    selectedTrack = stored.concat(selectedTrack);
  }
  if (!store.get(id)) refreshOrder(id);
  renderDetail();
}

async function loadRoute(id) {
  try {
    const route = await getJson(`/api/orders/${encodeURIComponent(id)}/route`);
    if (id !== selectedId) return;
    selectedRoute = lines(route).flatMap((l) => l.coords);
    seen.routePoints = selectedRoute.length;
    renderDetail();
  } catch {
    // No route yet (no rider assigned): nothing to draw.
  }
}

// ---- rendering ----------------------------------------------------------------

function badge(status) {
  const span = document.createElement('span');
  span.className = `badge s${status}`;
  span.textContent = `${statusLabel(status)} · ${status}`;
  span.title = STATUS_NAMES[status] ?? '';
  return span;
}

// "7 min (p90 10 min) · ≈15:42": the arrival is counted from the record's
// own time (createTime), the server's clock, which a simulation runs ahead
// of the wall clock.
function formatEta(seconds, p90, from) {
  if (!Number.isFinite(seconds) || seconds < 0) return '—';
  const min = (s) => `${Math.max(0, Math.round(s / 60))} min`;
  const text = Number.isFinite(p90) && p90 >= 0 ? `${min(seconds)} (p90 ${min(p90)})` : min(seconds);
  if (!Number.isFinite(from) || from <= 0) return text;
  const arrive = new Date(from + seconds * 1000).toLocaleTimeString([], { hour: '2-digit', minute: '2-digit' });
  return `${text} · ≈${arrive}`;
}

function renderDetail() {
  const t = selectedId ? store.get(selectedId) : null;
  $('d-id').textContent = selectedId ?? '—';
  const status = $('status');
  status.replaceWith(t ? Object.assign(badge(t.status), { id: 'status' }) : Object.assign(document.createElement('span'), { id: 'status', className: 'badge', textContent: '—' }));
  $('d-version').textContent = t?.version ?? '—';
  $('d-eta').textContent = t && !isTerminal(t.status) ? formatEta(t.etaSeconds, t.etaP90Seconds, t.createTime) : '—';
  $('d-rider').textContent = t?.riderId ?? '—';
  $('d-warehouse').textContent = t?.warehouseId ?? '—';
  $('d-picking').textContent = t ? (PICKING_LABELS[t.pickingStage] ?? String(t.pickingStage)) : '—';
  $('d-position').textContent = Number.isFinite(t?.longitude)
    ? `${t.longitude.toFixed(6)}, ${t.latitude.toFixed(6)}` : '—';
  $('d-address').textContent = t?.address || '—';
  $('d-updated').textContent = t?.createTime ? new Date(t.createTime).toLocaleString() : '—';
  const alerts = $('d-alerts');
  alerts.replaceChildren();
  for (const a of t?.alerts ?? []) {
    const li = document.createElement('li');
    li.className = 'alert';
    const info = ALERT_LABELS[a.kind] ?? { label: a.kind, unit: '' };
    const value = Number.isFinite(a.value) ? ` ${a.value.toFixed(a.unit === 'm' ? 0 : 1)} ${info.unit}` : '';
    li.textContent = `⚠ ${info.label}${value} · since ${new Date(a.since).toLocaleTimeString()}`;
    alerts.append(li);
  }
  if (!alerts.children.length) alerts.innerHTML = '<li class="muted">none</li>';
  seen.trackPoints = selectedTrack.length;
  map.setSelection(t || selectedRoute.length ? {
    route: selectedRoute,
    track: selectedTrack,
    position: Number.isFinite(t?.longitude) ? [t.longitude, t.latitude] : null,
    riderId: t?.riderId ?? null,
  } : null);
}

let listScheduled = false;
function renderList() {
  // Many messages a second: redraw the table at most once a frame.
  if (listScheduled) return;
  listScheduled = true;
  requestAnimationFrame(() => {
    listScheduled = false;
    const ids = [...new Set([...listed, ...(selectedId ? [selectedId] : [])])];
    const rows = ids
      .map((id) => store.get(id))
      .filter(Boolean)
      .sort((a, b) => statusRank(a.status) - statusRank(b.status) || a.orderId.localeCompare(b.orderId));
    const body = $('order-rows');
    body.replaceChildren(...rows.map((t) => {
      const tr = document.createElement('tr');
      tr.dataset.order = t.orderId;
      if (t.orderId === selectedId) tr.className = 'selected';
      const cells = [t.orderId, badge(t.status),
        isTerminal(t.status) ? '—' : formatEta(t.etaSeconds), String(t.version)];
      for (const c of cells) {
        const td = document.createElement('td');
        td.append(c);
        tr.append(td);
      }
      const alerts = t.alerts?.length ?? 0;
      if (alerts) tr.cells[0].append(` ⚠${alerts > 1 ? alerts : ''}`);
      tr.addEventListener('click', () => select(t.orderId));
      return tr;
    }));
    $('orders-note').textContent = `(${rows.length})`;
    $('stat-messages').textContent = seen.messages;
  });
}

setInterval(() => {
  $('clock').textContent = new Date().toLocaleTimeString();
  $('stat-messages').textContent = seen.messages;
}, 1000);

// ---- start ------------------------------------------------------------------

live.subscribe(RIDERS_TOPIC, onRider);
live.start();
loadCity();
if (selectedId) select(selectedId);
refreshList();
setInterval(refreshList, LIST_REFRESH_MS);
