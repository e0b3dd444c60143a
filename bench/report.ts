// The results as JSON, a Markdown table and an SVG bar chart of the speed ratios. Pure string
// building (no node: imports); run.ts writes the files.

import { fmtMs, fmtMs as fmtMsTable, type SideResult, type WorkloadResult } from './harness.ts';
import type { OursProfile } from './profile.ts';

export interface AdapterLabel {
  /** One line, e.g. "lavapipe (Mesa 25.0.7, runs on the CPU) — mesa / software / llvmpipe-…". */
  text: string;
  /** File-name friendly, e.g. "lavapipe", "swiftshader", "nvidia-h100-80gb-hbm3". */
  slug: string;
  cpuAdapter: boolean;
}

export interface BenchReport {
  schema: 1;
  kind: 'lanterna-bench';
  date: string;
  adapter: AdapterLabel;
  /** describeDevice() of our engine's device (engine/info.ts). */
  device: Record<string, unknown>;
  tfjs: {
    version: string;
    backend: string;
    adapterInfo: Record<string, unknown>;
    error?: string;
    /** TF.js's CPU-side backends that ran beside it (label says wasm's SIMD and threads). */
    others?: { id: string; label: string; error?: string }[];
  };
  /** Both engines on the same adapter (vendor and architecture as each reports them). */
  sameAdapter: boolean;
  host: Record<string, unknown>;
  options: Record<string, unknown>;
  results: WorkloadResult[];
  notes: string[];
  /** Set while the run is still going (files are rewritten after each workload). */
  partial?: boolean;
}

const slugify = (s: string) =>
  s
    .toLowerCase()
    .replace(/[^a-z0-9]+/g, '-')
    .replace(/^-+|-+$/g, '')
    .slice(0, 60);

/** Adapter label and file-name slug from describeDevice()'s result. */
export function adapterLabel(d: { driver: string; vendor: string; architecture: string; device: string; description: string; cpuAdapter: boolean }): AdapterLabel {
  const driver = d.driver.toLowerCase();
  // The device name (Dawn: "nvidia-h200") before the description, which on NVIDIA is the
  // driver version ("NVIDIA: 580.159.04 …").
  const slug = driver.startsWith('lavapipe')
    ? 'lavapipe'
    : driver.startsWith('swiftshader')
      ? 'swiftshader'
      : slugify(d.device || d.description || `${d.vendor}-${d.architecture}`) || 'unknown-adapter';
  const parts = [d.vendor, d.architecture, d.device].filter(Boolean).join(' / ');
  return { text: `${d.driver}${parts ? ` — ${parts}` : ''}`, slug, cpuAdapter: d.cpuAdapter };
}

function side(s: SideResult): string {
  if (s.skipped && !s.ms) return 'skipped';
  if (!s.ms) return `failed: ${(s.error ?? 'no result').replace(/\|/g, '\\|')}`;
  return `${fmtMs(s.ms.median)} (${fmtMs(s.ms.min)}–${fmtMs(s.ms.max)})`;
}

const mib = (b: number) => {
  const m = b / 2 ** 20;
  return m >= 100 ? m.toFixed(0) : m >= 10 ? m.toFixed(1) : m >= 0.1 ? m.toFixed(2) : m.toFixed(3);
};

/** Peak / set-up GPU memory of a side, in MiB. */
export function memoryText(s: SideResult): string {
  return s.memory && s.ms ? `${mib(s.memory.peakBytes)} / ${mib(s.memory.setupBytes)}` : '—';
}

/** Ratios between this and 1 are called "within noise" (medians on a shared machine). */
export const NOISE = 0.95;

const rate = (s: SideResult) => (s.rate === undefined ? '—' : s.rate >= 100 ? s.rate.toFixed(0) : s.rate >= 10 ? s.rate.toFixed(1) : s.rate.toFixed(2));

export function ratioText(r: WorkloadResult): string {
  if (r.ratio === undefined) return '—';
  const v = `${r.ratio.toFixed(2)}×`;
  return r.ratio >= 1 ? `**${v}**` : v;
}

/** The Markdown table (with a header naming adapter, runtime, method). */
export function renderMarkdown(rep: BenchReport): string {
  const h = rep.host as any;
  const o = rep.options as any;
  const lines: string[] = [];
  lines.push(`### ${rep.adapter.text}`);
  lines.push('');
  lines.push(
    `Lanterna vs TensorFlow.js ${rep.tfjs.version} (\`${rep.tfjs.backend}\` backend) on the same adapter${rep.sameAdapter ? '' : ' (**TF.js reports a different adapter**: ' + JSON.stringify(rep.tfjs.adapterInfo) + ')'}, ` +
      `${h.runtime ?? ''} ${h.runtimeVersion ?? ''}, ${rep.date.slice(0, 10)}. ` +
      `Times in ms: median of ${o.runs} counted runs (min–max) after a probe run and a warm-up (≥ ${o.warmup} run${o.warmup === 1 ? '' : 's'} and ≥ ${o.warmupMs ?? 0} ms per engine), engines alternating; each run ends with a GPU sync. ` +
      `A side whose runs would take over ${o.maxSeconds / 2} s gets fewer (at least ${o.minRuns}); the Runs column then reads ours / TF.js. ` +
      `Ratio = TF.js time / our time: above 1 we are faster.` +
      (h.cpus ? ` Host: ${h.cpus}${h.cpuModel ? ` × ${h.cpuModel}` : ' CPU threads'}${h.loadBefore !== undefined ? `, load average ${h.loadBefore} before / ${h.loadAfter} after` : ''}.` : ''),
  );
  lines.push('');
  lines.push('| Workload | Ours ms | TF.js ms | Ours rate | TF.js rate | Unit | Ratio | Agree | Runs | Ours GPU MiB |');
  lines.push('|---|--:|--:|--:|--:|---|--:|--:|--:|--:|');
  for (const r of rep.results) {
    const agree = r.agreement ? `${r.agreement.ok ? '' : '⚠ '}${r.agreement.maxRelDiff.toExponential(0)}` : '—';
    const runs = r.ours.runs === r.tfjs.runs ? `${r.ours.runs ?? 0}` : `${r.ours.runs ?? 0} / ${r.tfjs.runs ?? 0}`;
    lines.push(`| ${r.title} | ${side(r.ours)} | ${side(r.tfjs)} | ${rate(r.ours)} | ${rate(r.tfjs)} | ${r.unit ?? ''} | ${ratioText(r)} | ${agree} | ${runs} | ${memoryText(r.ours)} |`);
  }
  if (rep.results.some((r) => r.ours.memory))
    lines.push('', 'Ours GPU MiB: the most bytes our buffer pool had handed out during any probe or run (weights, inputs, activations, outputs; size classes round up by ≤ 25%) / of those, what was live once set up (weights and inputs). TF.js has its own device and is not measured.');
  const slower = rep.results.filter((r) => r.ratio !== undefined && r.ratio < 1);
  lines.push('');
  if (slower.length)
    lines.push(
      `Slower than TF.js on: ${slower
        .map((r) => `${r.title} (${r.ratio!.toFixed(3)}×: TF.js ${(1 / r.ratio!).toFixed(2)}× faster${r.ratio! >= NOISE ? ', within noise' : ''})`)
        .join('; ')}.`,
    );
  else if (rep.results.some((r) => r.ratio !== undefined)) lines.push("At least TF.js's speed on every workload measured.");
  const failed = rep.results.filter((r) => r.ratio === undefined && !r.ours.skipped);
  if (failed.length) lines.push('', `No ratio for: ${failed.map((r) => r.title).join('; ')} (a side failed; see the table).`);
  const notRun = rep.results.filter((r) => r.ours.skipped);
  if (notRun.length) lines.push('', `Not run here: ${notRun.map((r) => `${r.title} (${r.ours.skipped})`).join('; ')}.`);
  for (const n of rep.notes) lines.push('', n);
  const cut = rep.results.filter((r) => r.note);
  if (cut.length) lines.push('', ...cut.map((r) => `- ${r.title}: ${r.note}.`));
  const ex = rep.results.filter((r) => r.extrapolated);
  if (ex.length)
    lines.push(
      '',
      '**Extrapolated** (a part was timed, the whole is estimated as median × the factor; not measured):',
      '',
      ...ex.map((r) => {
        const e = r.extrapolated!;
        const s = (ms?: number) => (ms === undefined ? '—' : `${(ms / 1000).toFixed(ms >= 100_000 ? 0 : 1)} s`);
        return `- ${r.title}: ${e.what} (×${+e.factor.toFixed(1)}): ours ${s(e.oursMs)}, TF.js ${s(e.tfjsMs)}`;
      }),
    );
  const others = renderOthers(rep);
  if (others) lines.push('', others);
  const prof = rep.results.filter((r) => r.profile);
  if (prof.length) lines.push('', renderProfiles(prof));
  return lines.join('\n') + '\n';
}

/**
 * TF.js's CPU-side backends (wasm, cpu) beside ours: what a user without WebGPU would run. A
 * table of their times and ratios to ours; "declined" where the workload is too big for them.
 */
export function renderOthers(rep: BenchReport): string {
  const ids = [...new Set(rep.results.flatMap((r) => (r.others ?? []).map((o) => o.engine)))];
  if (!ids.length) return '';
  const label = (id: string) => rep.tfjs.others?.find((o) => o.id === id)?.label ?? id;
  const cell = (o?: SideResult) => {
    if (!o) return ['—', '—', '—'];
    if (o.skipped) return [`declined: ${o.skipped}`, '—', '—'];
    const agree = o.agreement ? `${o.agreement.ok ? '' : '⚠ '}${o.agreement.maxRelDiff.toExponential(0)}` : '—';
    const ratio = o.ratio === undefined ? '—' : o.ratio >= 1 ? `**${o.ratio.toFixed(2)}×**` : `${o.ratio.toFixed(2)}×`;
    return [side(o), ratio, agree];
  };
  const lines = [
    `#### Beside TF.js's CPU backends (${ids.map(label).join('; ')}), on this host's CPU`,
    '',
    `Ratio = their time / our time on this adapter. ${rep.adapter.cpuAdapter ? 'Here both run on the same CPU cores.' : 'Ours runs on the GPU, theirs on the CPU.'}`,
    '',
    `| Workload | Ours ms | ${ids.map((id) => `${id.replace(/^tfjs-/, 'TF.js ')} ms | Ratio | Agree`).join(' | ')} |`,
    `|---|--:|${ids.map(() => '--:|--:|--:').join('|')}|`,
  ];
  for (const r of rep.results) {
    const cells = ids.flatMap((id) => cell(r.others?.find((o) => o.engine === id)));
    lines.push(`| ${r.title} | ${side(r.ours)} | ${cells.join(' | ')} |`);
  }
  const slower = rep.results.flatMap((r) => {
    const s = (r.others ?? []).filter((o) => o.ratio !== undefined && o.ratio < 1);
    return s.length ? [`${r.title} (${s.map((o) => `${o.engine.replace(/^tfjs-/, '')} ${o.ratio!.toFixed(2)}×`).join(', ')})`] : [];
  });
  lines.push('', slower.length ? `Slower than a TF.js CPU backend on: ${slower.join('; ')}.` : 'At least the speed of TF.js\'s CPU backends wherever they ran.');
  return lines.join('\n');
}

/** `--profile`'s section: counts per run, then our GPU time per kernel, slowest first. */
export function renderProfiles(results: WorkloadResult[], top = 12): string {
  const lines = ['#### Profile (ours: one run each, every dispatch in its own timed compute pass)'];
  const fmtMs = (ms: number) => (ms >= 10 ? fmtMsTable(ms) : ms.toFixed(3));
  for (const r of results) {
    const p = r.profile as OursProfile | { error: string };
    lines.push('');
    if ('error' in p) {
      lines.push(`**${r.title}**: profile failed: ${p.error}`);
      continue;
    }
    const c = p.counts;
    const n = (v: number, what: string) => `${v} ${what}${v === 1 ? '' : 's'}`;
    lines.push(`**${r.title}**: ${n(c.dispatches, 'dispatch').replace(/dispatchs$/, 'dispatches')}, ${n(c.submits, 'submit')}, ${n(c.readbacks, 'readback')}, ${n(c.uploads, 'upload')} per run.`);
    if (!p.gpu) {
      lines.push(`Kernel times: ${p.unavailable ?? 'unavailable'}.`);
      continue;
    }
    const g = p.gpu;
    lines.push(
      `GPU time ${fmtMs(g.totalMs)} ms in ${g.timed} timed passes${g.timed < g.dispatches ? ` (of ${g.dispatches}: capacity ran out)` : ''}; the profiled run took ${fmtMs(p.wallMs ?? 0)} ms of wall time.`,
      '',
      '| Kernel | Dispatches | GPU ms | Share |',
      '|---|--:|--:|--:|',
    );
    for (const k of g.kernels.slice(0, top)) lines.push(`| \`${k.key}\` | ${k.count} | ${fmtMs(k.ms)} | ${g.totalMs ? ((100 * k.ms) / g.totalMs).toFixed(1) : '0'}% |`);
    const rest = g.kernels.slice(top);
    if (rest.length) {
      const ms = rest.reduce((a, k) => a + k.ms, 0);
      lines.push(`| ${rest.length} other kernel${rest.length === 1 ? '' : 's'} | ${rest.reduce((a, k) => a + k.count, 0)} | ${fmtMs(ms)} | ${g.totalMs ? ((100 * ms) / g.totalMs).toFixed(1) : '0'}% |`);
    }
  }
  return lines.join('\n');
}

const esc = (s: string) => s.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;').replace(/"/g, '&quot;');

/** Horizontal bars of the speed ratio on a log scale, 1× marked; green when we are faster. */
export function renderSvg(rep: BenchReport): string {
  const rows = rep.results;
  const W = 900;
  const labelW = 330;
  const barW = W - labelW - 90;
  const rowH = 26;
  const top = 62;
  const H = top + rows.length * rowH + 40;
  const othersOf = (r: WorkloadResult) => (r.others ?? []).filter((o) => o.ratio !== undefined && o.ratio > 0);
  const ratios = rows.flatMap((r) => [r.ratio, ...othersOf(r).map((o) => o.ratio)]).filter((v): v is number => v !== undefined && v > 0);
  const lo = Math.min(0.25, ...ratios.map((v) => v / 1.3));
  const hi = Math.max(4, ...ratios.map((v) => v * 1.3));
  const lx = (v: number) => labelW + ((Math.log2(v) - Math.log2(lo)) / (Math.log2(hi) - Math.log2(lo))) * barW;
  const out: string[] = [];
  out.push(`<svg xmlns="http://www.w3.org/2000/svg" width="${W}" height="${H}" viewBox="0 0 ${W} ${H}" font-family="sans-serif" font-size="12">`);
  out.push(`<rect width="${W}" height="${H}" fill="#fff"/>`);
  out.push(`<text x="10" y="20" font-size="15" font-weight="bold">Lanterna vs TF.js ${esc(rep.tfjs.version)} WebGPU — speed ratio (TF.js time / ours; log scale)</text>`);
  out.push(`<text x="10" y="40" fill="#444">${esc(rep.adapter.text)} · ${esc(String((rep.host as any).runtime ?? ''))} ${esc(String((rep.host as any).runtimeVersion ?? ''))} · ${esc(rep.date.slice(0, 10))}</text>`);
  // grid
  const ticks: number[] = [];
  for (let e = Math.ceil(Math.log2(lo)); e <= Math.floor(Math.log2(hi)); e++) ticks.push(2 ** e);
  for (const t of ticks) {
    const x = lx(t).toFixed(1);
    out.push(`<line x1="${x}" y1="${top - 6}" x2="${x}" y2="${H - 30}" stroke="${t === 1 ? '#000' : '#ddd'}" stroke-width="${t === 1 ? 1.5 : 1}"/>`);
    out.push(`<text x="${x}" y="${H - 14}" text-anchor="middle" fill="#444">${t >= 1 ? t : '1/' + 1 / t}×</text>`);
  }
  // TF.js's CPU backends, where they ran: a marker each on the row (values in the Markdown).
  const marks: Record<string, string> = { 'tfjs-wasm': '#1f5fbf', 'tfjs-cpu': '#777' };
  const ids = [...new Set(rows.flatMap((r) => othersOf(r).map((o) => o.engine)))];
  ids.forEach((id, k) => {
    const x = W - 250 + k * 120;
    out.push(`<circle cx="${x}" cy="52" r="4" fill="none" stroke="${marks[id] ?? '#000'}" stroke-width="2"/><text x="${x + 9}" y="56" fill="#444">${esc(id.replace(/^tfjs-/, 'TF.js '))}</text>`);
  });
  rows.forEach((r, i) => {
    const y = top + i * rowH;
    out.push(`<text x="${labelW - 8}" y="${y + 16}" text-anchor="end">${esc(r.title)}</text>`);
    for (const o of othersOf(r))
      out.push(`<circle cx="${lx(o.ratio!).toFixed(1)}" cy="${y + rowH / 2}" r="5" fill="none" stroke="${marks[o.engine] ?? '#000'}" stroke-width="2"/>`);
    if (r.ratio === undefined || !(r.ratio > 0)) {
      out.push(`<text x="${lx(1) + 6}" y="${y + 16}" fill="#a00">no ratio (${r.ours.skipped ? 'not run here' : r.ours.error ? 'ours failed' : 'TF.js failed'})</text>`);
      return;
    }
    const x0 = lx(1);
    const x1 = lx(r.ratio);
    const faster = r.ratio >= 1;
    out.push(`<rect x="${Math.min(x0, x1).toFixed(1)}" y="${y + 4}" width="${Math.max(1, Math.abs(x1 - x0)).toFixed(1)}" height="${rowH - 8}" fill="${faster ? '#2a9d4b' : '#d1495b'}"/>`);
    // The value sits right of the bar's end (faster) or right of the 1× line (slower).
    const tx = (faster ? x1 : x0) + 5;
    out.push(`<text x="${tx.toFixed(1)}" y="${y + 16}">${r.ratio.toFixed(2)}×</text>`);
  });
  out.push('</svg>');
  return out.join('\n') + '\n';
}
