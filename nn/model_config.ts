// A model from a Keras model_config: Sequential, or a Functional graph in any Keras layout —
// Keras 1/2 `inbound_nodes` lists ([[name, node, tensor(, kwargs)], …] per call), Keras 3 dicts
// ({args: [keras tensors with keras_history]}), layers called more than once, models used as
// layers, several inputs and outputs. Layers come from layerFromConfig (from_config.ts). Every
// layer that cannot be built is listed in one error, before any computation.

import { layerFromConfig, inputShapeOf, type ConfigOptions } from './from_config.ts';
import type { Layer } from './layer.ts';
import { InputLayer } from './layers/simple.ts';
import { applyMany, input, Model, type SymbolicTensor } from './model.ts';
import { Sequential } from './sequential.ts';

type Cfg = Record<string, any>;
/** [layer name, node index (which call of that layer), tensor index]. */
type Ref = [string, number, number];

const MODEL_CLASSES = new Set(['Sequential', 'Functional', 'Model']);

/** model_config (parsed JSON) → a model: a built graph, or an unbuilt Sequential with its input shape set. */
export function modelFromConfig(modelConfig: Cfg, where = 'model_config', opts: ConfigOptions = {}): Model {
  const refused: string[] = [];
  const layers = Array.isArray(modelConfig?.config) ? modelConfig.config : modelConfig?.config?.layers;
  const version = opts.kerasVersion ?? modelConfig?.keras_version ?? (JSON.stringify(layers ?? []).includes('"module"') ? '3' : '2');
  const model = buildModel(modelConfig, where, { kerasVersion: version }, refused);
  // One line (CLI errors are one line): a lone refusal reads alone, several are joined by '; '.
  if (refused.length === 1) throw new Error(`${where}: ${refused[0]}`);
  if (refused.length) throw new Error(`${where}: ${refused.length} layers Lanterna cannot run: ${refused.join('; ')}`);
  if (model === null) throw new Error(`${where}: the model could not be built`);
  return model;
}

function buildModel(mc: Cfg, where: string, opts: ConfigOptions, refused: string[]): Model | null {
  const cls = mc?.class_name;
  if (!MODEL_CLASSES.has(cls)) throw new Error(`${where}: model class '${cls}' is not supported (Sequential, Functional or Model)`);
  if (cls === 'Sequential') return sequentialFrom(mc.config, where, opts, refused);
  return graphFrom(mc.config ?? {}, where, opts, refused);
}

/** A layer entry's object, or null (with the reason pushed to `refused`). */
function layerFrom(entry: Cfg, where: string, opts: ConfigOptions, refused: string[]): Layer | null {
  const c = entry.config ?? {};
  const name = c.name ?? entry.name;
  if (MODEL_CLASSES.has(entry.class_name) && (Array.isArray(c) || Array.isArray(c.layers))) {
    const m = buildModel({ class_name: entry.class_name, config: Array.isArray(c) ? { name, layers: c } : { ...c, name } }, where, opts, refused);
    return m;
  }
  try {
    return layerFromConfig(entry.class_name, { ...c, name }, where, opts);
  } catch (e) {
    const msg = (e as Error).message.replace(`${where}: `, '');
    refused.push(msg.includes(`'${name}'`) ? msg : `layer '${name}' (${entry.class_name}): ${msg}`);
    return null;
  }
}

function sequentialFrom(cfg: Cfg, where: string, opts: ConfigOptions, refused: string[]): Sequential | null {
  const entries: Cfg[] = Array.isArray(cfg) ? cfg : (cfg?.layers ?? []);
  if (!Array.isArray(entries)) throw new Error(`${where}: Sequential config has no layer list`);
  const model = new Sequential(Array.isArray(cfg) ? 'sequential' : (cfg.name ?? 'sequential'));
  let ok = true;
  for (const l of entries) {
    const c = l?.config ?? {};
    const shape = inputShapeOf(c);
    if (l?.class_name === 'InputLayer') {
      if (!shape) throw new Error(`${where}: InputLayer '${c.name}' has no shape`);
      model.add(new InputLayer(shape, c.name));
      continue;
    }
    if (shape && !model.inputShape) model.inputShape = shape;
    const layer = layerFrom(l ?? {}, where, opts, refused);
    if (layer) model.add(layer);
    else ok = false;
  }
  if (!ok) return null;
  if (!model.inputShape) {
    const bs = cfg?.build_input_shape;
    if (Array.isArray(bs)) model.inputShape = bs.slice(1).map(Number);
  }
  if (!model.inputShape && !refused.length) throw new Error(`${where}: model '${model.name}' has no input shape (no InputLayer and no batch_input_shape)`);
  return model;
}

/** The input refs of one call (one inbound node), in any Keras layout. */
function callInputs(node: unknown, where: string): Ref[] {
  const bad = () => new Error(`${where}: cannot read inbound node ${JSON.stringify(node)?.slice(0, 120)}`);
  if (node && typeof node === 'object' && !Array.isArray(node)) {
    // Keras 3: {args: [...], kwargs: {...}}; tensors are {class_name: '__keras_tensor__', config: {keras_history}}.
    const refs: Ref[] = [];
    const walk = (v: unknown, inKwargs: boolean): void => {
      if (Array.isArray(v)) v.forEach((x) => walk(x, inKwargs));
      else if (v && typeof v === 'object') {
        const o = v as Cfg;
        if (o.class_name === '__keras_tensor__') {
          if (inKwargs) throw new Error(`${where}: a tensor passed by keyword (${JSON.stringify(o.config?.keras_history)}) is not supported`);
          refs.push(ref(o.config?.keras_history, where));
        } else if (!inKwargs || o.class_name) for (const x of Object.values(o)) walk(x, inKwargs);
      }
    };
    walk((node as Cfg).args ?? [], false);
    walk((node as Cfg).kwargs ?? {}, true);
    return refs;
  }
  if (!Array.isArray(node)) throw bad();
  // Keras 1/2: a list of [name, node, tensor(, kwargs)]; a bare ref is one input.
  if (typeof node[0] === 'string') return [ref(node, where)];
  return node.map((r) => ref(r, where));
}

function ref(r: unknown, where: string): Ref {
  if (!Array.isArray(r) || typeof r[0] !== 'string' || !Number.isInteger(r[1] ?? 0) || !Number.isInteger(r[2] ?? 0))
    throw new Error(`${where}: bad tensor reference ${JSON.stringify(r)?.slice(0, 80)} (expected [layer name, node index, tensor index])`);
  return [r[0], r[1] ?? 0, r[2] ?? 0];
}

/** input_layers / output_layers: a list of refs, or (Keras 3, one tensor) a bare ref. */
function refList(v: unknown, what: string, where: string): Ref[] {
  if (!Array.isArray(v) || v.length === 0) throw new Error(`${where}: the config has no ${what}`);
  return typeof v[0] === 'string' ? [ref(v, where)] : v.map((r) => ref(r, where));
}

function graphFrom(cfg: Cfg, where: string, opts: ConfigOptions, refused: string[]): Model | null {
  const name: string = cfg.name ?? 'model';
  const entries: Cfg[] = cfg.layers;
  if (!Array.isArray(entries)) throw new Error(`${where}: Functional model '${name}' has no layer list`);
  const inRefs = refList(cfg.input_layers, 'input_layers', where);
  const outRefs = refList(cfg.output_layers, 'output_layers', where);

  interface Entry { name: string; cfg: Cfg; layer: Layer | null; calls: Ref[][]; outs: SymbolicTensor[][] }
  const byName = new Map<string, Entry>();
  for (const e of entries) {
    const n = e?.config?.name ?? e?.name;
    if (typeof n !== 'string') throw new Error(`${where}: a layer of model '${name}' has no name`);
    if (byName.has(n)) throw new Error(`${where}: model '${name}' has two layers named '${n}'`);
    const isInput = e.class_name === 'InputLayer';
    const shape = isInput ? inputShapeOf(e.config ?? {}) : null;
    if (isInput && !shape) throw new Error(`${where}: InputLayer '${n}' has no shape`);
    const layer = isInput ? null : layerFrom(e, where, opts, refused);
    const calls = isInput ? [] : (e.inbound_nodes ?? []).map((node: unknown) => callInputs(node, `${where}: layer '${n}'`));
    const outs = isInput ? [[input(shape!, n)]] : [];
    byName.set(n, { name: n, cfg: e, layer, calls, outs });
  }
  if (refused.length) return null;

  const lookup = (r: Ref, by: string): SymbolicTensor | undefined => {
    const e = byName.get(r[0]);
    if (!e) throw new Error(`${where}: ${by} takes input from '${r[0]}', which model '${name}' does not have`);
    const maxCalls = e.cfg.class_name === 'InputLayer' ? 1 : e.calls.length;
    if (r[1] >= maxCalls) throw new Error(`${where}: ${by} takes call ${r[1]} of '${r[0]}', which is called ${maxCalls} time${maxCalls === 1 ? '' : 's'}`);
    const outs = e.outs[r[1]];
    if (outs && r[2] >= outs.length) throw new Error(`${where}: ${by} takes output ${r[2]} of '${r[0]}', which has ${outs.length}`);
    return outs?.[r[2]];
  };
  // Calls are made in dependency order: a pass makes every call whose inputs exist.
  for (let progress = true; progress; ) {
    progress = false;
    for (const e of byName.values()) {
      while (e.outs.length < e.calls.length) {
        const k = e.outs.length;
        const by = `layer '${e.name}'${e.calls.length > 1 ? ` (call ${k})` : ''}`;
        const xs = e.calls[k].map((r) => lookup(r, by));
        if (xs.some((x) => x === undefined)) break;
        try {
          e.outs.push(applyMany(e.layer!, ...(xs as SymbolicTensor[])));
        } catch (err) {
          throw new Error(`${where}: ${(err as Error).message}`);
        }
        progress = true;
      }
    }
  }
  const stuck = [...byName.values()].filter((e) => e.outs.length < e.calls.length);
  if (stuck.length) throw new Error(`${where}: model '${name}' has a cycle: ${stuck.map((e) => `'${e.name}'`).join(', ')} wait on each other's outputs`);
  const ins = inRefs.map((r) => {
    const e = byName.get(r[0]);
    if (!e || e.cfg.class_name !== 'InputLayer') throw new Error(`${where}: input_layers names '${r[0]}', which is not an InputLayer of model '${name}'`);
    return e.outs[0][0];
  });
  const outs = outRefs.map((r) => {
    const t = lookup(r, 'output_layers');
    if (!t) throw new Error(`${where}: output '${r[0]}' of model '${name}' is never computed`);
    return t;
  });
  return new Model({ inputs: ins, outputs: outs, name });
}
