// The page's GeoJSON readers and status labels.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { bounds, lines, points } from '../../../web/src/geojson.js';
import { STATUS_LABELS, isTerminal, statusLabel, statusRank } from '../../../web/src/status.js';

const city = {
  type: 'FeatureCollection',
  features: [
    { type: 'Feature', geometry: { type: 'LineString', coordinates: [[116.3, 39.9], [116.31, 39.91]] }, properties: { kind: 'arterial' } },
    { type: 'Feature', geometry: { type: 'MultiLineString', coordinates: [[[116.2, 39.8], [116.21, 39.8]]] }, properties: { kind: 'local' } },
    { type: 'Feature', geometry: { type: 'Point', coordinates: [116.35, 39.95] }, properties: { kind: 'warehouse', id: 'W0', serviceRadiusM: 3000 } },
  ],
};

test('lines and points keep their feature properties', () => {
  const l = lines(city);
  assert.equal(l.length, 2);
  assert.equal(l[0].properties.kind, 'arterial');
  assert.deepEqual(l[1].coords, [[116.2, 39.8], [116.21, 39.8]]);
  const p = points(city);
  assert.deepEqual(p, [{ lon: 116.35, lat: 39.95, properties: { kind: 'warehouse', id: 'W0', serviceRadiusM: 3000 } }]);
});

test('a bare geometry or a Feature is read too; junk yields nothing', () => {
  assert.equal(lines({ type: 'LineString', coordinates: [[1, 2], [3, 4]] }).length, 1);
  assert.equal(lines({ type: 'Feature', geometry: { type: 'LineString', coordinates: [[1, 2], [3, 4]] } }).length, 1);
  assert.deepEqual(lines(null), []);
  assert.deepEqual(lines({ type: 'FeatureCollection' }), []);
});

test('bounds skip non-finite coordinates', () => {
  assert.deepEqual(bounds([[[1, 2], [3, -4], [NaN, 9]]]), [1, -4, 3, 2]);
  assert.equal(bounds([[]]), null);
});

test('status labels are the article\'s, by code', () => {
  assert.deepEqual(STATUS_LABELS, { 1: '待支付', 2: '仓库处理中', 3: '配送中', 4: '已送达', 5: '已取消' });
  assert.equal(statusLabel(9), '未知(9)');
  assert.ok(isTerminal(4) && isTerminal(5) && !isTerminal(3));
  assert.ok(statusRank(3) < statusRank(2) && statusRank(2) < statusRank(4));
});
