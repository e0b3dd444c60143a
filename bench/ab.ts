// A/B benchmark of two builds of Lanterna itself (not TF.js), side by side in one run: is a
// change (a refactor) speed-neutral? `bench/ab.sh` checks out and builds the base commit (and the
// head, when it is a commit) and calls this; by hand:
//
//   node dist/bench/ab.js --base-root DIR [--head-root DIR] [options]   (ab_compare.ts AB_USAGE)
//
// Each build runs in its own Node processes (ab_worker.ts; --processes, default 2 per build),
// each of which loads that build's dist/ — its engine and its own bench/ workload definitions —
// and owns its own GPU device, on the adapter the engine picks (lavapipe on a machine without a
// GPU; LANTERNA_VULKAN as everywhere). This process drives them all through the suite's own
// harness (harness.ts runWorkload): base#1 in the place of "ours", head#1, base#2, head#2 … in
// the place of TF.js's backends. So per workload: set-up and a probe in each (outputs compared),
// a warm-up, counted runs alternating process by process and round by round (the order
// reversed every other round), the time budget. Each run is timed inside its worker (the run,
// then the GPU sync), without the IPC round trip. ab_compare.ts turns the runs into a ratio, a
// noise band, an A/A spread and a verdict (why several processes: see there), and writes the
// report: <out>/ab-<adapter>-<date>-<base>-vs-<head>.md and .json (rewritten after each workload).

import { execFileSync, fork, type ChildProcess } from 'node:child_process';
import { createHash } from 'node:crypto';
import { existsSync, mkdirSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { cpus, loadavg } from 'node:os';
import { join, resolve } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { fmtMs, runWorkload, stats, type Agreement, type Engine, type Instance, type SuiteOptions, type Workload } from './harness.ts';
import {
  compareBuilds, parseAbArgs, pooled, renderAbMarkdown, reportBase, withSamples,
  type AbArgs, type AbBuild, type AbReport, type AbRow,
} from './ab_compare.ts';
import type { InitReply, WorkloadMeta } from './ab_worker.ts';

const DIST = fileURLToPath(new URL('../', import.meta.url)); // the build this file is in
const ROOT = resolve(DIST, '..');
const WORKER = fileURLToPath(new URL('./ab_worker.js', import.meta.url));

function git(root: string, args: string[]): string {
  return execFileSync('git', args, { cwd: root, stdio: ['ignore', 'pipe', 'ignore'] }).toString().trim();
}

function gitInfo(root: string): { commit?: string; subject?: string; dirty?: boolean } {
  try {
    return {
      commit: git(root, ['rev-parse', 'HEAD']),
      subject: git(root, ['log', '-1', '--format=%s']),
      dirty: git(root, ['status', '--porcelain', '--untracked-files=no']) !== '',
    };
  } catch {
    return {};
  }
}

/** bench/run.ts's source hash: kernels/, engine/ and engine/ops/ sources, names and contents. */
function sourceHash(root: string): string | undefined {
  try {
    const h = createHash('sha256');
    for (const dir of ['kernels', 'engine', 'engine/ops']) {
      const d = join(root, dir);
      for (const f of readdirSync(d).filter((n) => n.endsWith('.ts')).sort()) h.update(`${dir}/${f}\0`).update(readFileSync(join(d, f)));
    }
    return h.digest('hex').slice(0, 12);
  } catch {
    return undefined;
  }
}

/** One build's worker process and the IPC with it. */
class Worker {
  private proc?: ChildProcess;
  private seq = 0;
  private waiting = new Map<number, { resolve: (v: any) => void; reject: (e: Error) => void }>();
  private last: Promise<unknown> = Promise.resolve();
  private exited?: string;
  /** The engine's counters after the last request (dispatches, submits, …). */
  counters: Record<string, number> = {};
  /** Every run's time (ms) measured in the worker since the last set-up: warm-up, then counted. */
  samples: number[] = [];
  info?: InitReply;

  constructor(
    /** 'base', 'head', or with several processes per build 'base#1', 'head#2' … */
    readonly id: string,
    readonly build: 'base' | 'head',
    readonly dist: string,
    private readonly init: { sizes: Record<string, unknown>; only: string[] },
    private readonly log: (s: string) => void,
  ) {}

  get alive(): boolean {
    return !!this.proc && !this.exited;
  }

  async start(): Promise<InitReply> {
    this.exited = undefined;
    const p = fork(WORKER, [this.dist], { serialization: 'advanced', stdio: ['ignore', 'inherit', 'inherit', 'ipc'] });
    p.on('message', (m: any) => {
      if (m.counters) this.counters = m.counters;
      const w = this.waiting.get(m.seq);
      if (!w) return;
      this.waiting.delete(m.seq);
      if (m.error !== undefined) w.reject(new Error(m.error));
      else w.resolve(m.value);
    });
    p.on('exit', (code, signal) => {
      this.exited = `${this.id}'s process exited (${signal ?? `code ${code}`})`;
      for (const w of this.waiting.values()) w.reject(new Error(this.exited));
      this.waiting.clear();
    });
    this.proc = p;
    this.info = await this.call<InitReply>('init', this.init);
    return this.info;
  }

  call<T>(op: string, payload: Record<string, unknown> = {}): Promise<T> {
    if (!this.proc || this.exited) return Promise.reject(new Error(this.exited ?? `${this.id}'s process is not running`));
    const seq = ++this.seq;
    const pr = new Promise<T>((resolve, reject) => this.waiting.set(seq, { resolve, reject }));
    this.proc.send({ seq, op, ...payload });
    this.last = pr;
    return pr;
  }

  /** Waits for the request in flight (the harness's sync after a dispose). */
  idle(): Promise<void> {
    return this.last.then(() => {});
  }

  async setup(id: string): Promise<Instance> {
    this.samples = [];
    await this.call('setup', { id });
    return {
      run: async () => {
        this.samples.push(await this.call<number>('run'));
        return () => {}; // the worker freed the outputs after its clock stopped
      },
      probe: () => this.call<Float32Array>('probe'),
      dispose: () => {
        this.last = this.call('dispose').catch((e: Error) => this.log(`  ${this.id}: dispose failed: ${e.message}`));
      },
    };
  }

  engine(): Engine {
    return { id: this.id, label: this.id, sync: () => this.idle(), counters: () => ({ ...this.counters }) };
  }

  async stop(): Promise<void> {
    if (!this.alive) return;
    const p = this.proc!;
    const gone = new Promise<void>((r) => p.once('exit', () => r()));
    this.call('exit').catch(() => {});
    const t = setTimeout(() => p.kill(), 5000);
    await gone;
    clearTimeout(t);
  }
}

function buildOf(role: 'base' | 'head', root: string | undefined, dist: string): AbBuild {
  const g = root ? gitInfo(root) : {};
  return { role, ...g, source: root && resolve(root) === ROOT ? 'worktree' : 'checkout', dist, ...(root ? { sourceHash: sourceHash(root) } : {}) };
}

export async function abMain(argv: string[], log: (s: string) => void = (s) => console.log(s)): Promise<{ report: AbReport; files: string[] }> {
  const args: AbArgs = parseAbArgs(argv);
  if (args.quiet) log = () => {};
  if (!args.baseRoot && !args.baseDist) throw new Error('--base-root (a checkout of the base commit, built) or --base-dist is needed');
  const headRoot = resolve(args.headRoot ?? ROOT);
  const baseDist = resolve(args.baseDist ?? join(args.baseRoot!, 'dist'));
  const headDist = resolve(args.headDist ?? (headRoot === ROOT ? DIST : join(headRoot, 'dist')));
  for (const d of [baseDist, headDist]) if (!existsSync(join(d, 'bench', 'suite.js'))) throw new Error(`${d} has no bench/suite.js: build it first (npx tsc -p tsconfig.json)`);
  const t0 = performance.now();
  const base = buildOf('base', args.baseRoot && resolve(args.baseRoot), baseDist);
  const head = buildOf('head', headRoot, headDist);
  const init = { sizes: { large: args.large, tiny: args.tiny, batch: args.batch, epochLimit: args.epochLimit }, only: args.only };
  const P = args.processes;
  const name = (role: string, j: number) => (P === 1 ? role : `${role}#${j + 1}`);
  // base#1, head#1, base#2, head#2, …: the harness alternates in this order (reversed every other round).
  const workers: Worker[] = [];
  for (let j = 0; j < P; j++) workers.push(new Worker(name('base', j), 'base', baseDist, init, log), new Worker(name('head', j), 'head', headDist, init, log));
  const bases = workers.filter((w) => w.build === 'base');
  const heads = workers.filter((w) => w.build === 'head');
  const host: Record<string, unknown> = {
    runtime: 'node', runtimeVersion: process.version, platform: `${process.platform}-${process.arch}`,
    cpus: cpus().length, cpuModel: cpus()[0]?.model?.trim(), loadBefore: +loadavg()[0].toFixed(2),
  };
  const date = new Date().toISOString();
  const files: string[] = [];
  try {
    await Promise.all(workers.map((w) => w.start())); // not timed: start-up in parallel
    const bi = bases[0].info!;
    const hi = heads[0].info!;
    base.adapter = bi.adapter.text;
    head.adapter = hi.adapter.text;
    const notes: string[] = [];
    const adapters = new Set(workers.map((w) => w.info!.adapter.text));
    if (adapters.size > 1) notes.push(`⚠ The processes got different adapters (${workers.map((w) => `${w.id}: ${w.info!.adapter.text}`).join('; ')}): their times compare different hardware.`);
    if (bi.adapter.cpuAdapter)
      notes.push(`The adapter is a software driver on the CPU (${host.cpus} cores${(host.cpus as number) <= 4 ? ', shared with other work' : ''}): the processes take turns on those cores, one run at a time.`);
    // Base's order, then anything only head has.
    const metas = new Map<string, { meta: WorkloadMeta; in: Set<string> }>();
    for (const [role, info] of [['base', bi], ['head', hi]] as const)
      for (const m of info.workloads) {
        const e = metas.get(m.id) ?? metas.set(m.id, { meta: m, in: new Set() }).get(m.id)!;
        e.in.add(role);
      }
    if (metas.size === 0) throw new Error(`no workload matches --only ${args.only.join(',')} in either build`);
    log(`adapter: ${bi.adapter.text}`);
    log(`base: ${base.commit?.slice(0, 7) ?? '?'}${base.dirty ? ' (uncommitted changes)' : ''} ${baseDist}`);
    log(`head: ${head.commit?.slice(0, 7) ?? '?'}${head.dirty ? ' (uncommitted changes)' : ''} ${headDist}`);
    log(`${metas.size} workloads; ${P} process${P > 1 ? 'es' : ''} per build; ${args.runs} counted runs per process after a probe and a warm-up, all alternating\n`);

    const rows: AbRow[] = [];
    let fileBase: string | null = null;
    const makeReport = (final: boolean): AbReport => ({
      schema: 1, kind: 'lanterna-ab', date, adapter: bi.adapter.text, base, head,
      host: { ...host, loadAfter: +loadavg()[0].toFixed(2), seconds: +((performance.now() - t0) / 1000).toFixed(1) },
      options: { ...args, baseRoot: undefined, headRoot: undefined, baseDist: undefined, headDist: undefined },
      rows: [...rows],
      notes: final ? notes : [`Partial: ${rows.length} of ${metas.size} workloads so far (the run was still going, or was stopped).`, ...notes],
      ...(final ? {} : { partial: true }),
    });
    const save = (rep: AbReport) => {
      if (!args.save) return;
      const dir = resolve(args.out ?? join(ROOT, 'bench', 'results'));
      mkdirSync(dir, { recursive: true });
      if (fileBase === null) {
        const b = reportBase(rep, bi.adapter.slug, args.tiny);
        fileBase = b;
        for (let k = 2; existsSync(join(dir, fileBase + '.md')); k++) fileBase = `${b}-${k}`;
      }
      const md = join(dir, fileBase + '.md');
      const js = join(dir, fileBase + '.json');
      writeFileSync(md, renderAbMarkdown(rep));
      writeFileSync(js, JSON.stringify(rep, (_k, v) => (v === Infinity ? 'Infinity' : v), 2) + '\n');
      files.splice(0, files.length, md, js);
    };
    const opts: SuiteOptions = {
      runs: args.runs, warmup: args.warmup, warmupMs: args.warmupMs, skipWarmupMs: args.skipWarmupMs, maxSeconds: args.maxSeconds, minRuns: args.minRuns, log,
    };

    for (const { meta, in: where } of metas.values()) {
      if (where.size < 2) {
        const only = where.has('base') ? 'base' : 'head';
        log(`${meta.title}: only in ${only}'s suite, not compared`);
        rows.push({ id: meta.id, family: meta.family, title: meta.title, only });
        save(makeReport(false));
        continue;
      }
      for (const w of workers)
        if (!w.alive) {
          log(`restarting ${w.id}`);
          await w.start().catch((e: Error) => log(`  ${w.id}: restart failed: ${e.message}`));
        }
      log(`${meta.title} …`);
      // The harness's "ours" is base#1, its TF.js sides the other processes (`tf` is the worker).
      const proxy: Workload = { ...meta, ours: () => workers[0].setup(meta.id), tfjs: (w: Worker) => w.setup(meta.id) };
      const r = await runWorkload(proxy, workers[0].engine(), workers.slice(1).map((w) => ({ engine: w.engine(), tf: w })), opts);
      const size = r.flops ?? r.bytes;
      const results = [r.ours, r.tfjs, ...(r.others ?? [])].map((s, i) => withSamples(s, workers[i].samples, size, stats));
      const per = { base: results.filter((_, i) => workers[i].build === 'base'), head: results.filter((_, i) => workers[i].build === 'head') };
      const b = pooled(per.base, 'base', stats);
      const h = pooled(per.head, 'head', stats);
      // Agreement: the head processes' probes against base#1's (the worst); another base process
      // that differs from base#1 (nondeterminism) is noted.
      const agreements = [r.agreement, ...(r.others ?? []).map((o) => o.agreement)];
      const headAgree = agreements.filter((a, i) => a && workers[i + 1].build === 'head') as Agreement[];
      const agreement = headAgree.length === heads.length ? headAgree.reduce((x, y) => (y.maxRelDiff > x.maxRelDiff ? y : x)) : undefined;
      const notes = r.note ? [r.note] : [];
      agreements.forEach((a, i) => {
        if (a && a.maxRelDiff > 0 && workers[i + 1].build === 'base') notes.push(`${workers[i + 1].id}'s probe differs from base#1's by ${a.maxRelDiff.toExponential(1)} (same build: nondeterministic)`);
      });
      const row: AbRow = {
        id: r.id, family: r.family, title: r.title, params: r.params, flops: r.flops, bytes: r.bytes, unit: r.unit, base: b, head: h, processes: per,
        ...(agreement ? { agreement } : {}),
        ...(b.ms && h.ms ? { comparison: compareBuilds(per.base.map((s) => s.ms!.samples), per.head.map((s) => s.ms!.samples), args) } : {}),
        ...(notes.length ? { note: notes.join('; ') } : {}),
      };
      if (meta.extrapolate)
        row.extrapolated = {
          ...meta.extrapolate,
          ...(row.comparison ? { baseMs: +(row.comparison.baseMs * meta.extrapolate.factor).toFixed(1), headMs: +(row.comparison.headMs * meta.extrapolate.factor).toFixed(1) } : {}),
        };
      const c = row.comparison;
      const ms = (x: typeof b, geo?: number) => (x.ms ? `${fmtMs(geo ?? x.ms.median)} ms` : `failed (${x.error ?? 'no result'})`);
      const band = c?.band ? `, band ${c.band.lo.toFixed(3)}–${c.band.hi.toFixed(3)}` : '';
      const aa = c?.aa !== undefined ? `, A/A ${(c.aa * 100).toFixed(1)}%` : '';
      log(`  base ${ms(b, c?.baseMs)}, head ${ms(h, c?.headMs)}${c ? `, head/base ×${c.ratio.toFixed(3)}${band}${aa}: ${c.verdict}` : ': no comparison'}`);
      rows.push(row);
      save(makeReport(false));
    }
    const report = makeReport(true);
    save(report);
    log('\n' + renderAbMarkdown(report));
    if (files.length) log(`wrote ${files.join(', ')}`);
    return { report, files };
  } finally {
    await Promise.all(workers.map((w) => w.stop()));
  }
}

const isMain = process.argv[1] && import.meta.url === pathToFileURL(resolve(process.argv[1])).href;
if (isMain) {
  try {
    await abMain(process.argv.slice(2));
  } catch (e) {
    console.error(`ab: ${(e as Error).message}`);
    process.exitCode = 1;
  } finally {
    setTimeout(() => process.exit(), 1000).unref();
  }
}
