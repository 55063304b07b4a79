// Hand-written SVG charts. Each one is a picture of a table that the page shows
// next to it: the SVG carries a summary for assistive technologies, the table
// the figures. Sizes are in viewBox units; the SVG scales to its container.
import { h, s, fmt } from './ui.js';

// The smallest 1, 2 or 5 × 10^k at or above v.
export function niceMax(v) {
  if (!(v > 0)) return 1;
  const p = 10 ** Math.floor(Math.log10(v));
  for (const m of [1, 2, 2.5, 5, 10]) if (m * p >= v * 0.999999) return m * p;
  return 10 * p;
}

function frame(width, height, label) {
  return s('svg', { viewBox: `0 0 ${width} ${height}`, role: 'img', 'aria-label': label, preserveAspectRatio: 'xMinYMin meet' });
}

function legend(items) {
  return h('ul', { class: 'legend', 'aria-hidden': 'true' }, items.map(([cls, text]) => h('li', null, h('span', { class: ['swatch', cls] }), text)));
}

// Indicators against their targets: per indicator, the deciles of the
// territories as a band with a tick at each decile (thicker at the median),
// the structure's value as a bar with its confidence interval, the target as a
// red mark. Each indicator has its own scale (rates and counts mix).
export function indicatorChart(items, label) {
  const W = 760, row = 62, top = 6, right = 96, x0 = 4;
  const H = top + row * items.length + 4;
  const svg = frame(W, H, label);
  items.forEach((it, i) => {
    const y = top + i * row;
    const vals = [it.value, it.target, ...(it.deciles || []), ...(it.ci || [])].filter((v) => typeof v === 'number');
    const all01 = vals.every((v) => v >= 0 && v <= 1);
    // Each indicator on its own scale, from 0 to a round value just above its
    // figures (a rate of 3 % is not drawn on a scale of 100 %); the scale's end
    // is written under the axis.
    const max = Math.min(all01 ? 1 : Infinity, niceMax(Math.max(...vals, 0) * 1.05));
    const f = all01 ? (v) => fmt.pct(v) : (v) => fmt.num(v, 2);
    const span = W - right - x0;
    const X = (v) => x0 + (Math.max(0, Math.min(v, max)) / max) * span;
    const g = s('g', { class: 'indicator', 'data-code': it.code });
    const what = [`${it.label} : ${f(it.value)}`];
    if (typeof it.target === 'number') what.push(`cible ${f(it.target)}`);
    if (it.deciles) what.push(`déciles ${f(it.deciles[0])} à ${f(it.deciles[8])}, médiane ${f(it.deciles[4])}`);
    g.append(s('title', null, what.join(' ; ')));
    g.append(s('text', { x: x0, y: y + 13 }, it.label + (it.direction === 'decreasing' ? ' (↓ mieux)' : '')));
    const cy = y + 32;
    g.append(s('line', { class: 'axis', x1: X(0), x2: X(max), y1: cy + 11, y2: cy + 11 }));
    g.append(s('text', { class: 'muted scale', x: X(max), y: cy + 22, 'text-anchor': 'end' }, 'échelle 0 – ' + f(max)));
    if (it.deciles && it.deciles.length === 9) {
      g.append(s('rect', { class: 'band', x: X(it.deciles[0]), y: cy - 9, width: Math.max(1, X(it.deciles[8]) - X(it.deciles[0])), height: 18 }));
      it.deciles.forEach((d, k) => g.append(s('line', { class: k === 4 ? 'median' : 'decile', x1: X(d), x2: X(d), y1: cy - 9, y2: cy + 9 })));
    }
    if (typeof it.value === 'number') {
      g.append(s('rect', { class: 'bar', x: X(0), y: cy - 4, width: Math.max(1, X(it.value) - X(0)), height: 8 }));
      if (Array.isArray(it.ci) && it.ci.length === 2) {
        g.append(s('line', { class: 'axis', x1: X(it.ci[0]), x2: X(it.ci[1]), y1: cy, y2: cy }));
        g.append(s('line', { class: 'axis', x1: X(it.ci[0]), x2: X(it.ci[0]), y1: cy - 6, y2: cy + 6 }));
        g.append(s('line', { class: 'axis', x1: X(it.ci[1]), x2: X(it.ci[1]), y1: cy - 6, y2: cy + 6 }));
      }
    }
    if (typeof it.target === 'number') {
      g.append(s('line', { class: 'target', x1: X(it.target), x2: X(it.target), y1: cy - 13, y2: cy + 13 }));
    }
    g.append(s('text', { class: 'value', x: W - right + 10, y: cy + 4 }, f(it.value)));
    svg.append(g);
  });
  return h('figure', { class: 'chart wide' }, svg,
    legend([['', 'valeur de la structure'], ['band', 'déciles des territoires (trait épais : médiane)'], ['target', 'cible']]));
}

// Grouped vertical bars: categories along x, one bar per series.
// series: [{name, cls, values: [number|null per category]}]
export function barChart({ categories, series, format = fmt.eurosRound, label, height = 260 }) {
  const W = 640, H = height, left = 86, bottom = 28, top = 10, right = 10;
  const svg = frame(W, H, label);
  const max = niceMax(Math.max(0, ...series.flatMap((sr) => sr.values.filter((v) => typeof v === 'number'))));
  const Y = (v) => top + (1 - v / max) * (H - top - bottom);
  for (let k = 0; k <= 4; k++) {
    const v = (max * k) / 4;
    svg.append(s('line', { class: k ? 'grid' : 'axis', x1: left, x2: W - right, y1: Y(v), y2: Y(v) }));
    svg.append(s('text', { class: 'muted', x: left - 6, y: Y(v) + 4, 'text-anchor': 'end' }, format(v)));
  }
  const band = (W - left - right) / Math.max(1, categories.length);
  const barW = Math.min(48, (band * 0.8) / series.length);
  categories.forEach((c, i) => {
    const cx = left + band * i + band / 2;
    series.forEach((sr, j) => {
      const v = sr.values[i];
      if (typeof v !== 'number') return;
      const x = cx - (barW * series.length) / 2 + j * barW;
      const r = s('rect', { class: ['bar', sr.cls].filter(Boolean).join(' '), x, y: Y(Math.max(0, v)), width: barW - 2, height: Math.max(0, Y(0) - Y(Math.max(0, v))) });
      r.append(s('title', null, `${c} — ${sr.name} : ${format(v)}`));
      svg.append(r);
    });
    svg.append(s('text', { x: cx, y: H - 8, 'text-anchor': 'middle' }, c));
  });
  return h('figure', { class: 'chart' }, svg, legend(series.map((sr) => [sr.cls || '', sr.name])));
}

// A line over ordered points [{x: label, y: number}].
export function lineChart({ points, format = fmt.eurosRound, label, height = 220 }) {
  const W = 640, H = height, left = 86, bottom = 28, top = 16, right = 30;
  const svg = frame(W, H, label);
  const ys = points.map((p) => p.y).filter((v) => typeof v === 'number');
  const max = niceMax(Math.max(0, ...ys));
  const Y = (v) => top + (1 - v / max) * (H - top - bottom);
  const X = (i) => left + (points.length <= 1 ? (W - left - right) / 2 : (i * (W - left - right)) / (points.length - 1));
  for (let k = 0; k <= 4; k++) {
    const v = (max * k) / 4;
    svg.append(s('line', { class: k ? 'grid' : 'axis', x1: left, x2: W - right, y1: Y(v), y2: Y(v) }));
    svg.append(s('text', { class: 'muted', x: left - 6, y: Y(v) + 4, 'text-anchor': 'end' }, format(v)));
  }
  const pts = points.map((p, i) => (typeof p.y === 'number' ? `${X(i)},${Y(p.y)}` : null)).filter(Boolean);
  if (pts.length > 1) svg.append(s('polyline', { class: 'line', points: pts.join(' ') }));
  points.forEach((p, i) => {
    svg.append(s('text', { x: X(i), y: H - 8, 'text-anchor': 'middle' }, p.x));
    if (typeof p.y !== 'number') return;
    const dot = s('circle', { class: 'dot', cx: X(i), cy: Y(p.y), r: 4.5 });
    dot.append(s('title', null, `${p.x} : ${format(p.y)}`));
    svg.append(dot, s('text', { class: 'value', x: X(i), y: Y(p.y) - 9, 'text-anchor': 'middle' }, format(p.y)));
  });
  return h('figure', { class: 'chart' }, svg);
}

// Horizontal bars [{label, value}], one per row, labels on the left.
// Long labels keep their start and their end ("Maison de santé … 12").
const shorten = (t, n) => (t.length <= n ? t : t.slice(0, n - 8) + '…' + t.slice(-6));

export function hbarChart({ rows, format = fmt.int, label, cls }) {
  const W = 640, row = 26, left = 230, right = 90, top = 4;
  const H = top + row * rows.length + 4;
  const svg = frame(W, H, label);
  const max = niceMax(Math.max(0, ...rows.map((r) => r.value || 0)));
  const X = (v) => left + (Math.max(0, v) / max) * (W - left - right);
  rows.forEach((r, i) => {
    const y = top + i * row;
    svg.append(s('text', { x: left - 8, y: y + 17, 'text-anchor': 'end' }, shorten(r.label, 34)));
    const bar = s('rect', { class: ['bar', cls || r.cls].filter(Boolean).join(' '), x: left, y: y + 5, width: Math.max(1, X(r.value || 0) - left), height: 16 });
    bar.append(s('title', null, `${r.label} : ${format(r.value)}`));
    svg.append(bar, s('text', { class: 'value', x: X(r.value || 0) + 6, y: y + 17 }, format(r.value)));
  });
  return h('figure', { class: 'chart' }, svg);
}
