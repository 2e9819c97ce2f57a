'use strict';
// Small SVG charts drawn by the page itself (no library, no inline style:
// colours come from style.css classes s0..s5).
const Chart = {};
Chart.NS = 'http://www.w3.org/2000/svg';
Chart.svg = function (tag, attrs, ...kids) {
  const n = document.createElementNS(Chart.NS, tag);
  for (const [k, v] of Object.entries(attrs || {})) n.setAttribute(k, v);
  for (const c of kids) if (c) n.appendChild(typeof c === 'string' ? document.createTextNode(c) : c);
  return n;
};
Chart.fmt = v => Math.abs(v) >= 100 ? v.toFixed(0) : Math.abs(v) >= 1 ? v.toFixed(1) : v.toFixed(3);

// bars(title, [{label, value}], unit): one bar per item
Chart.bars = function (id, title, items, unit) {
  const W = 600, H = 220, L = 44, B = 36, T = 24;
  const max = Math.max(1, ...items.map(i => i.value));
  const bw = (W - L - 8) / Math.max(1, items.length);
  const s = Chart.svg('svg', { id, viewBox: `0 0 ${W} ${H}`, role: 'img', 'aria-label': title, class: 'chart' });
  s.appendChild(Chart.svg('title', {}, title));
  s.appendChild(Chart.svg('text', { x: L, y: 16, class: 'ctitle' }, title));
  for (let k = 0; k <= 4; k++) {
    const y = T + (H - T - B) * (1 - k / 4);
    s.appendChild(Chart.svg('line', { x1: L, x2: W - 4, y1: y, y2: y, class: 'grid' }));
    s.appendChild(Chart.svg('text', { x: L - 4, y: y + 4, class: 'axis end' }, Chart.fmt(max * k / 4)));
  }
  items.forEach((it, i) => {
    const h = (H - T - B) * it.value / max;
    const x = L + i * bw + bw * 0.15;
    const r = Chart.svg('rect', { x, y: H - B - h, width: Math.max(1, bw * 0.7), height: h, class: 'bar s0' });
    r.appendChild(Chart.svg('title', {}, `${it.label}: ${it.value}${unit ? ' ' + unit : ''}`));
    s.appendChild(r);
    if (items.length <= 12 || i % Math.ceil(items.length / 12) === 0)
      s.appendChild(Chart.svg('text', { x: x + bw * 0.35, y: H - B + 14, class: 'axis mid' }, it.label));
  });
  return s;
};

// lines(title, series [{name, points:[[t_ms, v]]}], unit): time on x
Chart.lines = function (id, title, series, unit) {
  const W = 600, H = 240, L = 54, B = 40, T = 24, R = 8;
  const pts = series.flatMap(s => s.points);
  const s = Chart.svg('svg', { id, viewBox: `0 0 ${W} ${H}`, role: 'img', 'aria-label': title, class: 'chart' });
  s.appendChild(Chart.svg('title', {}, title));
  s.appendChild(Chart.svg('text', { x: L, y: 16, class: 'ctitle' }, title + (unit ? ` (${unit})` : '')));
  if (!pts.length) {
    s.appendChild(Chart.svg('text', { x: W / 2, y: H / 2, class: 'axis mid' }, 'no samples yet'));
    return s;
  }
  let t0 = Math.min(...pts.map(p => p[0])), t1 = Math.max(...pts.map(p => p[0]));
  let v0 = Math.min(0, ...pts.map(p => p[1])), v1 = Math.max(...pts.map(p => p[1]));
  if (t1 === t0) t1 = t0 + 1000;
  if (v1 === v0) v1 = v0 + 1;
  const X = t => L + (W - L - R) * (t - t0) / (t1 - t0);
  const Y = v => T + (H - T - B) * (1 - (v - v0) / (v1 - v0));
  for (let k = 0; k <= 4; k++) {
    const v = v0 + (v1 - v0) * k / 4;
    s.appendChild(Chart.svg('line', { x1: L, x2: W - R, y1: Y(v), y2: Y(v), class: 'grid' }));
    s.appendChild(Chart.svg('text', { x: L - 4, y: Y(v) + 4, class: 'axis end' }, Chart.fmt(v)));
  }
  for (let k = 0; k <= 3; k++) {
    const t = t0 + (t1 - t0) * k / 3;
    s.appendChild(Chart.svg('text', { x: X(t), y: H - B + 16, class: 'axis mid' },
      new Date(t).toISOString().slice(11, 16)));
  }
  series.forEach((se, i) => {
    if (!se.points.length) return;
    const d = se.points.map((p, j) => (j ? 'L' : 'M') + X(p[0]).toFixed(1) + ' ' + Y(p[1]).toFixed(1)).join(' ');
    const path = Chart.svg('path', { d, class: 'line s' + (i % 6) });
    path.appendChild(Chart.svg('title', {}, se.name));
    s.appendChild(path);
    s.appendChild(Chart.svg('text', { x: L + 8 + i * 130, y: H - 6, class: 'legend s' + (i % 6) }, '— ' + se.name));
  });
  return s;
};
