// OrderStore: how the page applies /topic/orders/{id} messages by version,
// checked against a simple oracle on seeded random message sequences.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { OrderStore } from '../../../web/src/order_store.js';

const snap = (version, extra = {}) => ({ type: 'snapshot', orderId: 'O1', version, status: 2, longitude: 116.4, latitude: 39.9, alerts: [], ...extra });
const delta = (version, extra = {}) => ({ type: 'delta', orderId: 'O1', version, ...extra });

test('a delta applies on top of the version before it', () => {
  const s = new OrderStore();
  assert.equal(s.apply(snap(3)), 'applied');
  assert.equal(s.apply(delta(4, { status: 3 })), 'applied');
  assert.equal(s.get('O1').status, 3);
  assert.equal(s.get('O1').previousStatus, 2);
  assert.equal(s.get('O1').longitude, 116.4, 'keys not in the delta are kept');
  assert.equal(s.version('O1'), 4);
});

test('a duplicate or older delta is ignored, a gap is reported and not applied', () => {
  const s = new OrderStore();
  s.apply(snap(3));
  assert.equal(s.apply(delta(3, { status: 5 })), 'duplicate');
  assert.equal(s.apply(delta(2, { status: 5 })), 'duplicate');
  assert.equal(s.apply(delta(5, { status: 4 })), 'gap');
  assert.equal(s.get('O1').status, 2);
  assert.equal(s.gaps, 1);
  assert.equal(s.duplicates, 2);
});

test('a delta for an order never seen is a gap (the client needs a snapshot first)', () => {
  const s = new OrderStore();
  assert.equal(s.apply(delta(1, { status: 1 })), 'gap');
  assert.equal(s.get('O1'), undefined);
});

test('a snapshot replaces, even an older one (server restarted)', () => {
  const s = new OrderStore();
  s.apply(snap(9, { status: 3 }));
  assert.equal(s.apply(snap(2, { status: 1 })), 'applied');
  assert.equal(s.version('O1'), 2);
  assert.equal(s.get('O1').status, 1);
});

test('an HTTP snapshot replaces only when newer', () => {
  const s = new OrderStore();
  s.apply(snap(5));
  assert.equal(s.offerSnapshot(snap(5, { status: 4 })), false);
  assert.equal(s.offerSnapshot(snap(6, { status: 4 })), true);
  assert.equal(s.get('O1').status, 4);
});

test('a message without orderId or an integer version is refused', () => {
  const s = new OrderStore();
  assert.throws(() => s.apply({ type: 'delta', version: 1 }), TypeError);
  assert.throws(() => s.apply({ type: 'delta', orderId: 'O1', version: 1.5 }), TypeError);
});

// A small deterministic generator (mulberry32) so a failure replays.
function rng(seed) {
  return () => {
    seed |= 0; seed = (seed + 0x6d2b79f5) | 0;
    let t = Math.imul(seed ^ (seed >>> 15), 1 | seed);
    t = (t + Math.imul(t ^ (t >>> 7), 61 | t)) ^ t;
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

test('seeded random streams (duplicates, reordering, snapshots) agree with an oracle', () => {
  for (let seed = 1; seed <= 50; seed++) {
    const r = rng(seed);
    // The truth: versions 1..n of one order, each changing status or position.
    const truth = [];
    let state = { orderId: 'O1', version: 1, status: 1, longitude: 116, latitude: 39.9 };
    truth.push({ ...state });
    for (let v = 2; v <= 60; v++) {
      const change = r() < 0.2 ? { status: 1 + Math.floor(r() * 5) } : { longitude: 116 + r(), latitude: 39.9 + r() / 10 };
      state = { ...state, ...change, version: v };
      truth.push({ ...state, change });
    }
    const store = new OrderStore();
    let oracle = null;  // the version the client may claim to hold
    store.apply({ type: 'snapshot', ...truth[0] });
    oracle = 1;
    let i = 1;
    while (i < truth.length) {
      const roll = r();
      let msg;
      if (roll < 0.1) msg = { type: 'delta', orderId: 'O1', version: truth[Math.floor(r() * i)].version, status: 5 };  // stale duplicate
      else if (roll < 0.15 && i + 1 < truth.length) msg = { type: 'delta', orderId: 'O1', version: truth[i + 1].version, ...truth[i + 1].change };  // overtaking
      else if (roll < 0.2) { const { change, ...full } = truth[i]; msg = { type: 'snapshot', ...full }; i++; }
      else { msg = { type: 'delta', orderId: 'O1', version: truth[i].version, ...truth[i].change }; i++; }
      const outcome = store.apply(msg);
      const expected = msg.type === 'snapshot' ? 'applied'
        : msg.version <= oracle ? 'duplicate' : msg.version === oracle + 1 ? 'applied' : 'gap';
      assert.equal(outcome, expected, `seed ${seed} version ${msg.version}`);
      if (outcome === 'applied') oracle = msg.version;
      const held = store.get('O1');
      const { change, ...want } = truth[oracle - 1];
      for (const k of ['version', 'status', 'longitude', 'latitude']) assert.equal(held[k], want[k], `seed ${seed} key ${k}`);
    }
  }
});
