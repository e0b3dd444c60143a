// The benchmark suite in a browser page: bundled by esbuild with TF.js from node_modules and
// served from 127.0.0.1 by run_chrome.ts, which also drives it headless. Opened by hand, it runs
// the suite named in its address (?args=--only+matmul-256+--runs+3) and shows the table and
// the chart as they fill in. Results are POSTed back to the server, which writes them.

import { benchChecks, benchShutdown, runBench, type BenchHost } from './main.ts';
import { renderMarkdown, renderSvg, type BenchReport } from './report.ts';

const params = new URL(location.href).searchParams;
const args = (params.get('args') ?? '').split(/\s+/).filter(Boolean);
const $ = (id: string) => document.getElementById(id)!;
const esc = (s: string) => s.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;');

/** The report's Markdown as HTML: pipe tables become tables, `code` and **bold** are kept. */
function markdownHtml(md: string): string {
  const inline = (s: string) => esc(s).replace(/`([^`]+)`/g, '<code>$1</code>').replace(/\*\*([^*]+)\*\*/g, '<b>$1</b>');
  const out: string[] = [];
  let table: string[][] | null = null;
  const endTable = () => {
    if (!table) return;
    const [head, , ...rows] = table;
    out.push(`<table><tr>${head.map((c) => `<th>${inline(c)}</th>`).join('')}</tr>${rows.map((r) => `<tr>${r.map((c) => `<td>${inline(c)}</td>`).join('')}</tr>`).join('')}</table>`);
    table = null;
  };
  for (const line of md.split('\n')) {
    if (line.startsWith('|')) {
      (table ??= []).push(line.slice(1, -1).split(/(?<!\\)\|/).map((c) => c.trim().replace(/\\\|/g, '|')));
      continue;
    }
    endTable();
    if (line.startsWith('#')) out.push(`<h3>${inline(line.replace(/^#+\s*/, ''))}</h3>`);
    else if (line.startsWith('- ')) out.push(`<p>• ${inline(line.slice(2))}</p>`);
    else if (line.trim()) out.push(`<p>${inline(line)}</p>`);
  }
  endTable();
  return out.join('\n');
}

const log = (s: string) => {
  console.log(s);
  $('log').textContent += s + '\n';
};

const pageHost: BenchHost = {
  wasmPaths: '/wasm/', // run_chrome.ts serves tfjs-backend-wasm's binaries there
  runtime: /Chrom(e|ium)\//.test(navigator.userAgent) ? 'chromium' : 'browser',
  runtimeVersion: (/Chrom(?:e|ium)\/([\d.]+)/.exec(navigator.userAgent) ?? [])[1] ?? navigator.userAgent,
  info: () => ({ platform: navigator.platform, cpus: navigator.hardwareConcurrency, userAgent: navigator.userAgent, crossOriginIsolated: (globalThis as any).crossOriginIsolated === true }),
  // The server picks a free name and writes the files; a failed POST only loses the files.
  save(_out, base, files) {
    const post = () => fetch('/save', { method: 'POST', body: JSON.stringify({ base, files }) }).catch((e) => log(`could not save: ${e}`));
    saving = saving.then(post); // in order: the final report is written last
    return files.map(([ext]) => base + ext);
  },
  onReport(rep: BenchReport, final: boolean) {
    $('table').innerHTML = markdownHtml(renderMarkdown(rep));
    $('chart').innerHTML = renderSvg(rep);
    (globalThis as any).__benchReport = rep;
    if (final) $('status').textContent = `Done in ${rep.host.seconds} s.`;
  },
};

let saving: Promise<unknown> = Promise.resolve();
$('args').textContent = args.length ? args.join(' ') : '(defaults)';
try {
  const { report } = await runBench(args, pageHost, log);
  if (report) (globalThis as any).__benchDevice = report.device;
  if (report) (globalThis as any).__benchChecks = { ...benchChecks(report), ms: Math.round(Number(report.host.seconds) * 1000) };
} catch (e) {
  const msg = (e as Error).message;
  log(`bench: ${msg}`);
  $('status').textContent = `Failed: ${msg}`;
  (globalThis as any).__benchError = msg;
} finally {
  await benchShutdown().catch(() => {});
  await saving;
  (globalThis as any).__benchDone = true;
}
