// The article's status codes and client labels (DESIGN.md §1); the codes are
// part of the wire format, the labels are what its Vue snippet shows.
export const STATUS_LABELS = Object.freeze({
  1: '待支付',
  2: '仓库处理中',
  3: '配送中',
  4: '已送达',
  5: '已取消',
});

// English names of the same codes (include/xiaoxiang/order/status.hpp).
export const STATUS_NAMES = Object.freeze({
  1: 'PendingPayment',
  2: 'Paid',
  3: 'Delivering',
  4: 'Completed',
  5: 'Cancelled',
});

// Warehouse picking stages reported while an order is Paid (pickingStage 1..5).
export const PICKING_LABELS = Object.freeze({
  0: '—',
  1: '任务创建 task created',
  2: '拣货中 picking',
  3: '已拣货 picked',
  4: '已打包 packed',
  5: '已交接 handed over',
});

// Alert kinds as the JSON codec names them, with their unit.
export const ALERT_LABELS = Object.freeze({
  routeDeviation: { label: '路线偏离 route deviation', unit: 'm' },
  standstill: { label: '长时间停留 standstill', unit: 'min' },
  deliveryTimeout: { label: '配送超时 delivery timeout', unit: 'min' },
  riderSilent: { label: '骑手失联 rider silent', unit: 'min' },
});

// The label of a status code, "未知(n)" for a code outside 1..5.
export function statusLabel(code) {
  return STATUS_LABELS[code] ?? `未知(${code})`;
}

// Terminal statuses (Completed, Cancelled) never change again.
export function isTerminal(code) {
  return code === 4 || code === 5;
}

// Order list sort rank: live work first (delivering, picking, unpaid), then done.
export function statusRank(code) {
  return { 3: 0, 2: 1, 1: 2, 4: 3, 5: 4 }[code] ?? 5;
}
