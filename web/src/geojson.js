// Small GeoJSON readers for what the server sends: /api/city (streets and
// warehouses), /api/orders/{id}/route and /track (LineStrings, with times).

// Every geometry of a GeoJSON object (FeatureCollection, Feature, geometry),
// each with the properties of its feature.
export function* geometries(geo, properties = {}) {
  if (!geo || typeof geo !== 'object') return;
  switch (geo.type) {
    case 'FeatureCollection':
      for (const f of geo.features ?? []) yield* geometries(f);
      break;
    case 'Feature':
      yield* geometries(geo.geometry, geo.properties ?? {});
      break;
    case 'GeometryCollection':
      for (const g of geo.geometries ?? []) yield* geometries(g, properties);
      break;
    default:
      if (geo.coordinates) yield { geometry: geo, properties };
  }
}

// Lines as arrays of [lon, lat] with their feature's properties.
export function lines(geo) {
  const out = [];
  for (const { geometry, properties } of geometries(geo)) {
    if (geometry.type === 'LineString') out.push({ coords: geometry.coordinates, properties });
    else if (geometry.type === 'MultiLineString') {
      for (const c of geometry.coordinates) out.push({ coords: c, properties });
    }
  }
  return out;
}

// Points as {lon, lat, properties}.
export function points(geo) {
  const out = [];
  for (const { geometry, properties } of geometries(geo)) {
    if (geometry.type === 'Point') {
      out.push({ lon: geometry.coordinates[0], lat: geometry.coordinates[1], properties });
    }
  }
  return out;
}

// [minLon, minLat, maxLon, maxLat] of a list of [lon, lat] arrays, or null.
export function bounds(coordLists) {
  let b = null;
  for (const coords of coordLists) {
    for (const [lon, lat] of coords) {
      if (!Number.isFinite(lon) || !Number.isFinite(lat)) continue;
      if (!b) b = [lon, lat, lon, lat];
      else {
        if (lon < b[0]) b[0] = lon;
        if (lat < b[1]) b[1] = lat;
        if (lon > b[2]) b[2] = lon;
        if (lat > b[3]) b[3] = lat;
      }
    }
  }
  return b;
}
