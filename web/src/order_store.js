// Client-side state of the orders the page watches: applies the pushed
// messages of /topic/orders/{id} (docs/transport.md) by version, the way a
// client of the broker must: a delta applies only on top of version - 1,
// a snapshot replaces, anything older is a duplicate.

// Keys of the wire format a snapshot always carries (camelCase, DESIGN.md §3).
export const ORDER_KEYS = Object.freeze([
  'status', 'longitude', 'latitude', 'address', 'operatorId', 'operatorType',
  'createTime', 'etaSeconds', 'etaP90Seconds', 'alerts', 'riderId',
  'pickingStage', 'userId', 'warehouseId',
]);

export class OrderStore {
  constructor() {
    this.orders = new Map();  // orderId -> state object (the wire keys)
    this.gaps = 0;            // deltas that did not follow the version held
    this.duplicates = 0;      // messages at or below the version held
  }

  get(id) {
    return this.orders.get(id);
  }

  // Last version held for an order, or undefined: what a resuming
  // subscription sends as x-since-version.
  version(id) {
    return this.orders.get(id)?.version;
  }

  // Applies one decoded message. Returns 'applied', 'duplicate' or 'gap'
  // (the delta was not applied; the caller fetches a snapshot).
  apply(msg) {
    if (!msg || typeof msg.orderId !== 'string' || !Number.isInteger(msg.version)) {
      throw new TypeError('not an order message: ' + JSON.stringify(msg));
    }
    const held = this.orders.get(msg.orderId);
    if (msg.type === 'snapshot') {
      // A snapshot is authoritative even when older than what is held: the
      // server restarted, or the client claimed a version it never had.
      this.orders.set(msg.orderId, { ...msg, previousStatus: held?.status });
      return 'applied';
    }
    if (held && msg.version <= held.version) {
      this.duplicates++;
      return 'duplicate';
    }
    if (!held || msg.version !== held.version + 1) {
      this.gaps++;
      return 'gap';
    }
    const next = { ...held, ...msg, type: held.type, previousStatus: held.status };
    this.orders.set(msg.orderId, next);
    return 'applied';
  }

  // Replaces an order's state with an HTTP snapshot when it is newer.
  offerSnapshot(snap) {
    const held = this.orders.get(snap.orderId);
    if (held && held.version >= snap.version) return false;
    this.orders.set(snap.orderId, { ...snap, type: 'snapshot', previousStatus: held?.status });
    return true;
  }

  forget(id) {
    this.orders.delete(id);
  }
}
