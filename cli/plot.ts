// Training curves as a small standalone SVG (no plotting library needed).

export interface Series {
  name: string;
  values: number[];
  color: string;
}

export interface Panel {
  title: string;
  series: Series[];
  yMin?: number;
  yMax?: number;
  /** A log10 y axis (values ≤ 0 and NaN are left out). */
  log?: boolean;
  /** The x axis' label for this panel, instead of the chart's. */
  xLabel?: string;
}

export function lineChartSvg(title: string, xLabel: string, panels: Panel[]): string {
  const W = 420;
  const H = 260;
  const m = { l: 52, r: 12, t: 28, b: 40 };
  const parts: string[] = [];
  panels.forEach((p, k) => {
    const ox = k * W;
    // A log axis plots log10 of the values; what is not positive has no place on it.
    const tf = (v: number) => (p.log ? (v > 0 ? Math.log10(v) : NaN) : v);
    const all = p.series.flatMap((s) => s.values.map(tf)).filter(Number.isFinite);
    const n = Math.max(...p.series.map((s) => s.values.length), 1);
    let lo = p.yMin ?? (all.length ? Math.min(...all) : 0);
    let hi = p.yMax ?? (all.length ? Math.max(...all) : 1);
    if (!(hi > lo)) {
      hi = lo + 1;
      lo = lo - 1;
    }
    const x = (i: number) => ox + m.l + (n === 1 ? 0.5 : i / (n - 1)) * (W - m.l - m.r);
    const y = (v: number) => m.t + (1 - (v - lo) / (hi - lo)) * (H - m.t - m.b);
    parts.push(`<text x="${ox + W / 2}" y="18" text-anchor="middle" font-size="13">${p.title}</text>`);
    parts.push(`<rect x="${ox + m.l}" y="${m.t}" width="${W - m.l - m.r}" height="${H - m.t - m.b}" fill="none" stroke="#999"/>`);
    for (let t = 0; t <= 4; t++) {
      const v = lo + ((hi - lo) * t) / 4;
      parts.push(`<text x="${ox + m.l - 4}" y="${y(v) + 4}" text-anchor="end" font-size="10">${(p.log ? 10 ** v : v).toPrecision(3)}</text>`);
    }
    parts.push(`<text x="${ox + W / 2}" y="${H - 8}" text-anchor="middle" font-size="11">${p.xLabel ?? xLabel} (1–${n})${p.log ? ', log scale' : ''}</text>`);
    p.series.forEach((s, j) => {
      const pts = s.values.map((v, i) => [i, tf(v)]).filter(([, v]) => Number.isFinite(v));
      parts.push(`<polyline points="${pts.map(([i, v]) => `${x(i).toFixed(1)},${y(v).toFixed(1)}`).join(' ')}" fill="none" stroke="${s.color}" stroke-width="2"/>`);
      if (pts.length <= 60) for (const [i, v] of pts) parts.push(`<circle cx="${x(i).toFixed(1)}" cy="${y(v).toFixed(1)}" r="2.5" fill="${s.color}"/>`);
      parts.push(`<text x="${ox + W - m.r - 4}" y="${m.t + 14 + 13 * j}" text-anchor="end" font-size="11" fill="${s.color}">${s.name}</text>`);
    });
  });
  return `<svg xmlns="http://www.w3.org/2000/svg" width="${W * panels.length}" height="${H}" font-family="sans-serif"><title>${title}</title><rect width="100%" height="100%" fill="white"/>${parts.join('')}</svg>\n`;
}
