// The city map on a canvas: streets and warehouses from /api/city, live
// riders, and the selected order's route, trajectory and position. No tile
// server: the only background is the street network the server sends.
// Projection: local equirectangular around the city's centre (x scaled by
// cos(latitude)), plenty for a city of ~15 km.
import { bounds } from './geojson.js';

const STREET_STYLE = {
  local: { color: '#2c3845', width: 1 },
  arterial: { color: '#3f5063', width: 2 },
  diagonal: { color: '#55697f', width: 2 },
};

export class MapView {
  constructor(canvas) {
    this.canvas = canvas;
    this.ctx = canvas.getContext('2d');
    this.streets = [];      // {coords, kind}
    this.warehouses = [];   // {lon, lat, id, radiusM}
    this.riders = new Map();  // riderId -> {lon, lat}
    this.selection = null;  // {route: [[lon,lat]], track: [[lon,lat]], position, riderId}
    this.center = [116.397, 39.908];
    this.pxPerDeg = 4000;   // pixels per degree of latitude
    this.streetLayer = null;
    this.dirty = true;
    this.#bindInput();
    new ResizeObserver(() => this.#resize()).observe(canvas);
    this.#resize();
    const loop = () => {
      if (this.dirty) this.#draw();
      requestAnimationFrame(loop);
    };
    requestAnimationFrame(loop);
  }

  setCity(streets, warehouses) {
    this.streets = streets;
    this.warehouses = warehouses;
    this.fit();
  }

  // Fits the view to the streets (or the riders when there are no streets).
  fit() {
    const lists = this.streets.length
      ? this.streets.map((s) => s.coords)
      : [[...this.riders.values()].map((r) => [r.lon, r.lat])];
    const b = bounds(lists);
    if (!b) return;
    const { width, height } = this.#size();
    this.center = [(b[0] + b[2]) / 2, (b[1] + b[3]) / 2];
    const k = Math.cos((this.center[1] * Math.PI) / 180);
    const spanX = Math.max((b[2] - b[0]) * k, 1e-4);
    const spanY = Math.max(b[3] - b[1], 1e-4);
    this.pxPerDeg = 0.94 * Math.min(width / spanX, height / spanY);
    this.#invalidateStreets();
  }

  setRider(id, lon, lat) {
    this.riders.set(id, { lon, lat });
    this.dirty = true;
  }

  setSelection(selection) {
    this.selection = selection;
    this.dirty = true;
  }

  invalidate() {
    this.dirty = true;
  }

  project(lon, lat) {
    const { width, height } = this.#size();
    const k = Math.cos((this.center[1] * Math.PI) / 180);
    return [
      width / 2 + (lon - this.center[0]) * k * this.pxPerDeg,
      height / 2 - (lat - this.center[1]) * this.pxPerDeg,
    ];
  }

  unproject(x, y) {
    const { width, height } = this.#size();
    const k = Math.cos((this.center[1] * Math.PI) / 180);
    return [
      this.center[0] + (x - width / 2) / (k * this.pxPerDeg),
      this.center[1] - (y - height / 2) / this.pxPerDeg,
    ];
  }

  #size() {
    return { width: this.canvas.clientWidth || 800, height: this.canvas.clientHeight || 600 };
  }

  #resize() {
    const dpr = window.devicePixelRatio || 1;
    const { width, height } = this.#size();
    this.canvas.width = Math.round(width * dpr);
    this.canvas.height = Math.round(height * dpr);
    this.dpr = dpr;
    this.#invalidateStreets();
  }

  #invalidateStreets() {
    this.streetLayer = null;
    this.dirty = true;
  }

  // Streets and warehouses change only with the view: drawn once into an
  // offscreen canvas, so a frame of moving riders costs one blit.
  #drawStreets() {
    const layer = document.createElement('canvas');
    layer.width = this.canvas.width;
    layer.height = this.canvas.height;
    const ctx = layer.getContext('2d');
    ctx.scale(this.dpr, this.dpr);
    ctx.lineCap = 'round';
    for (const kind of ['local', 'arterial', 'diagonal']) {
      const style = STREET_STYLE[kind];
      ctx.strokeStyle = style.color;
      ctx.lineWidth = style.width;
      ctx.beginPath();
      for (const s of this.streets) {
        if ((STREET_STYLE[s.kind] ? s.kind : 'local') !== kind) continue;
        this.#path(ctx, s.coords);
      }
      ctx.stroke();
    }
    for (const w of this.warehouses) {
      const [x, y] = this.project(w.lon, w.lat);
      if (w.radiusM > 0) {
        const r = (w.radiusM / 111320) * this.pxPerDeg;
        ctx.fillStyle = 'rgba(224, 79, 109, 0.03)';
        ctx.strokeStyle = 'rgba(224, 79, 109, 0.22)';
        ctx.setLineDash([4, 4]);
        ctx.beginPath();
        ctx.arc(x, y, r, 0, 2 * Math.PI);
        ctx.fill();
        ctx.stroke();
        ctx.setLineDash([]);
      }
      ctx.fillStyle = '#e04f6d';
      ctx.fillRect(x - 6, y - 6, 12, 12);
      ctx.fillStyle = '#f3c6d0';
      ctx.font = '12px system-ui, sans-serif';
      ctx.fillText(w.id, x + 9, y - 8);
    }
    this.streetLayer = layer;
  }

  #path(ctx, coords) {
    coords.forEach(([lon, lat], i) => {
      const [x, y] = this.project(lon, lat);
      if (i === 0) ctx.moveTo(x, y);
      else ctx.lineTo(x, y);
    });
  }

  #draw() {
    this.dirty = false;
    if (!this.streetLayer) this.#drawStreets();
    const ctx = this.ctx;
    ctx.setTransform(1, 0, 0, 1, 0, 0);
    ctx.fillStyle = '#10151c';
    ctx.fillRect(0, 0, this.canvas.width, this.canvas.height);
    ctx.drawImage(this.streetLayer, 0, 0);
    ctx.scale(this.dpr, this.dpr);

    const sel = this.selection;
    if (sel?.route?.length > 1) {
      ctx.strokeStyle = 'rgba(79, 163, 255, 0.85)';
      ctx.lineWidth = 4;
      ctx.setLineDash([8, 5]);
      ctx.beginPath();
      this.#path(ctx, sel.route);
      ctx.stroke();
      ctx.setLineDash([]);
      const [lon, lat] = sel.route[sel.route.length - 1];
      const [x, y] = this.project(lon, lat);
      ctx.fillStyle = '#4fa3ff';
      ctx.beginPath();
      ctx.moveTo(x, y);
      ctx.lineTo(x - 7, y - 16);
      ctx.lineTo(x + 7, y - 16);
      ctx.closePath();
      ctx.fill();
    }
    if (sel?.track?.length > 1) {
      ctx.strokeStyle = '#ff9d3c';
      ctx.lineWidth = 3;
      ctx.beginPath();
      this.#path(ctx, sel.track);
      ctx.stroke();
    }

    for (const [id, r] of this.riders) {
      const [x, y] = this.project(r.lon, r.lat);
      const mine = sel && id === sel.riderId;
      ctx.fillStyle = mine ? '#ffffff' : '#3ddc97';
      ctx.beginPath();
      ctx.arc(x, y, mine ? 5 : 3.5, 0, 2 * Math.PI);
      ctx.fill();
    }

    if (sel?.position) {
      const [x, y] = this.project(sel.position[0], sel.position[1]);
      ctx.strokeStyle = '#ffffff';
      ctx.lineWidth = 2;
      ctx.beginPath();
      ctx.arc(x, y, 10, 0, 2 * Math.PI);
      ctx.stroke();
      ctx.fillStyle = '#ff9d3c';
      ctx.beginPath();
      ctx.arc(x, y, 5, 0, 2 * Math.PI);
      ctx.fill();
    }
  }

  #bindInput() {
    let drag = null;
    this.canvas.addEventListener('mousedown', (e) => {
      drag = { x: e.clientX, y: e.clientY, center: [...this.center] };
      this.canvas.style.cursor = 'grabbing';
    });
    window.addEventListener('mouseup', () => {
      drag = null;
      this.canvas.style.cursor = 'grab';
    });
    window.addEventListener('mousemove', (e) => {
      if (!drag) return;
      const k = Math.cos((this.center[1] * Math.PI) / 180);
      this.center = [
        drag.center[0] - (e.clientX - drag.x) / (k * this.pxPerDeg),
        drag.center[1] + (e.clientY - drag.y) / this.pxPerDeg,
      ];
      this.#invalidateStreets();
    });
    this.canvas.addEventListener('wheel', (e) => {
      e.preventDefault();
      const rect = this.canvas.getBoundingClientRect();
      const x = e.clientX - rect.left;
      const y = e.clientY - rect.top;
      const before = this.unproject(x, y);
      this.pxPerDeg *= Math.exp(-e.deltaY * 0.0015);
      const after = this.unproject(x, y);
      // Zoom about the cursor: the point under it stays put.
      this.center = [this.center[0] + before[0] - after[0], this.center[1] + before[1] - after[1]];
      this.#invalidateStreets();
    }, { passive: false });
    this.canvas.addEventListener('dblclick', () => this.fit());
  }
}
