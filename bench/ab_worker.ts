// One build's side of an A/B run (bench/ab.ts forks one per build): loads that build's compiled
// engine and benchmark workloads by path, and runs them on request over the IPC channel.
//
//   node dist/bench/ab_worker.js <dist>     (forked with serialization 'advanced'; not for hand use)
//
// It imports nothing of Lanterna statically (types only): each process holds exactly one build's
// modules and its own GPU device (engine/context.ts keeps one per process). What it uses of the
// build is what the suite itself uses: bench/suite.js (workloads, select), bench/tfjs.js
// (oursEngine: the sync and the counters), bench/report.js (adapterLabel), engine/index.js
// (init, describeDevice, shutdown) — all there at 28b3943.
//
// Requests: { seq, op, ... }; replies: { seq, value } or { seq, error }, each with the engine's
// counters after the op. Ops: init { sizes, only }, setup { id }, probe, run, dispose, exit.
// `run` is timed here, as harness.ts times a side: the run's recording, then the GPU sync.

import { join, resolve } from 'node:path';
import { pathToFileURL } from 'node:url';
import type { Engine, Instance, Workload } from './harness.ts';

const dist = resolve(process.argv[2] ?? '');
const load = (p: string): Promise<any> => import(pathToFileURL(join(dist, p)).href);

/** What the parent needs to know of a workload to drive the harness (no functions). */
export type WorkloadMeta = Pick<Workload, 'id' | 'family' | 'title' | 'flops' | 'bytes' | 'work' | 'backward' | 'params' | 'tolerance' | 'warmup' | 'extrapolate'>;

export interface InitReply {
  adapter: { text: string; slug: string; cpuAdapter: boolean };
  workloads: WorkloadMeta[];
}

const json = <T>(v: T): T => (v === undefined ? v : JSON.parse(JSON.stringify(v)));

function meta(w: Workload): WorkloadMeta {
  return {
    id: w.id, family: w.family, title: w.title, flops: w.flops, bytes: w.bytes, work: w.work, backward: w.backward,
    params: json(w.params), tolerance: w.tolerance, warmup: w.warmup, extrapolate: json(w.extrapolate),
  };
}

let E: any;
let engine: Engine;
let list: Workload[] = [];
let inst: Instance | undefined;

async function handle(m: any): Promise<unknown> {
  switch (m.op) {
    case 'init': {
      E = await load('engine/index.js');
      const suite = await load('bench/suite.js');
      const { oursEngine } = await load('bench/tfjs.js');
      const { adapterLabel } = await load('bench/report.js');
      if (typeof suite.workloads !== 'function' || typeof oursEngine !== 'function')
        throw new Error(`${dist} has no bench/suite.js workloads() or bench/tfjs.js oursEngine(): is it a build of Lanterna with the benchmark suite?`);
      await E.init();
      const device = await E.describeDevice();
      engine = oursEngine();
      // Workloads that need files the workers are not given (the real MobileNet) are left out.
      list = suite.select(suite.workloads({ ...m.sizes, cpuAdapter: device.cpuAdapter }), m.only ?? []).filter((w: Workload) => !w.unavailable);
      const reply: InitReply = { adapter: adapterLabel(device), workloads: list.map(meta) };
      return reply;
    }
    case 'setup': {
      const w = list.find((x) => x.id === m.id);
      if (!w) throw new Error(`no workload ${m.id} in this build`);
      inst = undefined;
      inst = await w.ours();
      return null;
    }
    case 'probe': {
      const out = await inst!.probe();
      await engine.sync();
      return out;
    }
    case 'run': {
      const t0 = performance.now();
      const free = await inst!.run();
      await engine.sync();
      const ms = performance.now() - t0;
      free();
      return ms;
    }
    case 'dispose': {
      const i = inst;
      inst = undefined;
      i?.dispose();
      await engine.sync();
      return null;
    }
    case 'exit': {
      try {
        inst?.dispose();
        E?.shutdown();
      } finally {
        setTimeout(() => process.exit(0), 10);
      }
      return null;
    }
    default:
      throw new Error(`unknown op ${m.op}`);
  }
}

// One request at a time, in order (the parent waits for each reply anyway).
let queue: Promise<void> = Promise.resolve();
process.on('message', (m: any) => {
  queue = queue.then(async () => {
    let reply: Record<string, unknown>;
    try {
      reply = { seq: m.seq, value: await handle(m) };
    } catch (e) {
      reply = { seq: m.seq, error: e instanceof Error ? e.message : String(e), stack: e instanceof Error ? e.stack : undefined };
    }
    try {
      reply.counters = engine?.counters?.();
    } catch {
      // no device (init failed)
    }
    process.send!(reply);
  });
});
process.on('disconnect', () => process.exit(0)); // the parent died
