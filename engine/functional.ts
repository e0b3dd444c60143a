// Function transforms on top of the tape, as PyTorch's torch.autograd.functional and JAX's vjp /
// jvp: each differentiates f at a point. The inputs are taken as fresh leaves (views sharing
// their storage), so f is differentiated at xs whatever graph xs came from.

import { grad } from './autograd.ts';
import { LanternaError, fmtShape } from './errors.ts';
import { add, mul } from './ops/binary.ts';
import { zerosLike } from './ops/create.ts';
import { concat } from './ops/layout.ts';
import { sum } from './ops/reduce.ts';
import { reshape } from './ops/shape.ts';
import { readAll, tensor, view, type Tensor } from './tensor.ts';
import { tidy } from './scope.ts';

/** A function of tensors that returns one tensor (what the transforms below differentiate). */
export type TensorFn = (...xs: Tensor[]) => Tensor;

function leaves(op: string, xs: readonly Tensor[]): Tensor[] {
  if (xs.length === 0) throw new LanternaError(`${op}: needs at least one input tensor`);
  return xs.map((x, i) => {
    if (x.dtype !== 'float32') throw new LanternaError(`${op}: input ${i} ${x.describe()} must be float32 to be differentiated`);
    return view(x, x.shape).requireGrad();
  });
}

function sameShape(op: string, what: string, v: Tensor, like: Tensor): void {
  if (v.rank !== like.rank || v.shape.some((d, i) => d !== like.shape[i]))
    throw new LanternaError(`${op}: ${what} ${v.describe()} must have the shape ${fmtShape(like.shape)}`);
}

/** Σᵢ ⟨aᵢ, bᵢ⟩ as a scalar tensor (recorded). */
function dot(as: Tensor[], bs: Tensor[]): Tensor {
  return as.map((a, i) => sum(mul(a, bs[i]))).reduce((s, t) => add(s, t));
}

/**
 * Vector-Jacobian product of `f` at `xs`: `{ output: f(xs), vjp: [vᵀ·∂f/∂xᵢ] }`. `v` has the
 * output's shape (optional when f returns one value). Results belong to the caller's scope.
 */
export function vjp(f: TensorFn, xs: readonly Tensor[], v?: Tensor): { output: Tensor; vjp: Tensor[] } {
  const ls = leaves('vjp', xs);
  const output = f(...ls);
  if (v) sameShape('vjp', 'v', v, output);
  return { output, vjp: grad(output, ls, v, { allowUnused: true }) };
}

/**
 * Jacobian-vector product of `f` at `xs` (forward mode, by the double-vjp construction): with
 * u a dummy cotangent, g(u) = uᵀ·J is linear in u and ∂⟨g(u), v⟩/∂u = J·v. `v` holds one tensor
 * per input, of its shape. Returns `{ output: f(xs), jvp: J·v }` (the output's shape). Needs every
 * op on the path to be differentiable twice (see `grad`'s createGraph).
 */
export function jvp(f: TensorFn, xs: readonly Tensor[], v: readonly Tensor[]): { output: Tensor; jvp: Tensor } {
  const ls = leaves('jvp', xs);
  if (v.length !== xs.length) throw new LanternaError(`jvp: ${v.length} tangents for ${xs.length} inputs`);
  v.forEach((t, i) => sameShape('jvp', `tangent ${i}`, t, xs[i]));
  const output = f(...ls);
  const u = zerosLike(output).requireGrad();
  const g = grad(output, ls, u, { createGraph: true, allowUnused: true });
  const s = dot(g, [...v]);
  // f affine in xs with a constant Jacobian still depends on u; a zero J·v leaves s unrecorded.
  const out = s.requiresGrad ? grad(s, [u], undefined, { allowUnused: true })[0] : zerosLike(output);
  return { output, jvp: out };
}

/**
 * Hessian-vector product of a scalar `f` at `xs`: `{ output: f(xs), hvp: [Σⱼ ∂²f/∂xᵢ∂xⱼ · vⱼ] }`,
 * by differentiating ⟨∇f, v⟩ again (createGraph), without forming the Hessian.
 */
export function hvp(f: TensorFn, xs: readonly Tensor[], v: readonly Tensor[]): { output: Tensor; hvp: Tensor[] } {
  const ls = leaves('hvp', xs);
  if (v.length !== xs.length) throw new LanternaError(`hvp: ${v.length} vectors for ${xs.length} inputs`);
  v.forEach((t, i) => sameShape('hvp', `vector ${i}`, t, xs[i]));
  const output = f(...ls);
  if (output.size !== 1) throw new LanternaError(`hvp: f must return a single value, got ${output.describe()}`);
  const g = grad(output, ls, undefined, { createGraph: true, allowUnused: true });
  const s = dot(g, [...v]);
  // A gradient that does not depend on xs (f linear) has a zero Hessian.
  const hv = s.requiresGrad ? grad(s, ls, undefined, { allowUnused: true }) : ls.map((l) => zerosLike(l));
  return { output, hvp: hv };
}

/**
 * The Jacobian of `f` at `x`, shape [...output shape, ...x shape]: one backward pass per output
 * element, so for small outputs (at most `maxOutputs`, default 1024, elements).
 */
export function jacobian(f: TensorFn, x: Tensor, maxOutputs = 1024): Tensor {
  const [l] = leaves('jacobian', [x]);
  const y = f(l);
  if (y.size > maxOutputs)
    throw new LanternaError(`jacobian: the output ${y.describe()} has ${y.size} elements, above maxOutputs ${maxOutputs} (one backward pass each); use vjp or jvp`);
  if (y.size === 0 || x.size === 0) return tensor(new Float32Array(0), [...y.shape, ...x.shape]);
  const rows: Tensor[] = [];
  for (let i = 0; i < y.size; i++) {
    const e = new Float32Array(y.size);
    e[i] = 1;
    rows.push(tidy(() => reshape(grad(y, [l], tensor(e, y.shape), { allowUnused: true })[0], [1, x.size])));
  }
  const J = concat(rows, 0);
  rows.forEach((r) => r.dispose());
  return reshape(J, [...y.shape, ...x.shape]);
}

/** Options of `gradcheck`. */
export interface GradcheckOptions {
  /** Finite-difference step, applied in float64 to each element; default 1e-3 (float32 forward). */
  eps?: number;
  /** Absolute tolerance; default 1e-3. */
  atol?: number;
  /** Relative tolerance (of |numeric|); default 1e-2. */
  rtol?: number;
  /** Seed of the fixed random projection w; default 1. */
  seed?: number;
  /** Throw a LanternaError with the report's message when the check fails; default false. */
  throwOnFail?: boolean;
}

/** What `gradcheck` found: the worst element over all inputs. */
export interface GradcheckReport {
  /** True when every element is within atol + rtol·|numeric|. */
  ok: boolean;
  /** Elements compared (the total size of the inputs). */
  checked: number;
  /** Largest |analytic − numeric|. */
  maxAbsError: number;
  /** The element whose error exceeds its tolerance the most (or the largest error when all pass). */
  worst: { input: number; index: number[]; analytic: number; numeric: number } | null;
  /** One line: 'gradcheck ok …' or 'gradcheck failed: input 0 element [1,2] analytic … numeric …'. */
  message: string;
}

let seedState = 0;
function uniform(n: number, seed: number): Float32Array {
  seedState = seed >>> 0;
  return Float32Array.from({ length: n }, () => {
    seedState = (seedState + 0x6d2b79f5) >>> 0;
    let t = seedState;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296 - 0.5;
  });
}

function unravel(i: number, shape: readonly number[]): number[] {
  const idx = new Array<number>(shape.length);
  for (let d = shape.length - 1; d >= 0; d--) {
    idx[d] = i % shape[d];
    i = Math.floor(i / shape[d]);
  }
  return idx;
}

/**
 * Checks the gradients of `f` at `inputs` against central finite differences. The scalar
 * differentiated is s = Σ w·f(xs) with a fixed seeded random w, so every output element counts;
 * the analytic gradient is one backward pass of s. Each numeric derivative runs f in float32 at
 * x ± eps (the perturbed values rounded to float32, their actual difference taken as the step)
 * and sums s on the host in float64. Precision: f's own float32 rounding (≈ 1e-7·|s|) divided by
 * the step bounds what can be resolved, about 1e-4·|s| at eps = 1e-3; hence the loose defaults.
 * Kinks (relu at 0, max ties) within eps of an input give honest mismatches. Cost: 2 forward
 * passes per input element (read back 64 at a time): for small inputs.
 *
 * Returns a report; with `throwOnFail` a failure throws its message instead.
 */
export async function gradcheck(f: TensorFn, inputs: readonly Tensor[], opts: GradcheckOptions = {}): Promise<GradcheckReport> {
  const { eps = 1e-3, atol = 1e-3, rtol = 1e-2, seed = 1, throwOnFail = false } = opts;
  const host = await readAll(inputs);
  inputs.forEach((x, i) => {
    if (x.dtype !== 'float32') throw new LanternaError(`gradcheck: input ${i} ${x.describe()} must be float32`);
  });
  const { analytic, w } = await (async () => {
    const made: Tensor[] = [];
    try {
      const r = tidy(() => {
        const ls = leaves('gradcheck', inputs);
        const y = f(...ls);
        const wt = tensor(uniform(y.size, seed), y.shape);
        return { gs: grad(sum(mul(y, wt)), ls, undefined, { allowUnused: true }), wt };
      });
      made.push(...r.gs, r.wt);
      const vals = await readAll(r.gs);
      return { analytic: vals.map((v) => Float64Array.from(v)), w: Float64Array.from(await r.wt.data()) };
    } finally {
      made.forEach((t) => t.dispose());
    }
  })();
  const sOf = (y: Float32Array | Int32Array) => {
    let s = 0;
    for (let k = 0; k < y.length; k++) s += w[k] * y[k];
    return s;
  };
  const jobs: { input: number; index: number; step: number }[] = [];
  const evals: Tensor[] = [];
  let worst: GradcheckReport['worst'] = null;
  let worstExcess = -Infinity;
  let maxAbs = 0;
  let checked = 0;
  const flush = async () => {
    const ys = await readAll(evals);
    evals.forEach((t) => t.dispose());
    evals.length = 0;
    jobs.forEach((j, k) => {
      const numeric = (sOf(ys[2 * k]) - sOf(ys[2 * k + 1])) / j.step;
      const a = analytic[j.input][j.index];
      const err = Math.abs(a - numeric);
      maxAbs = Math.max(maxAbs, err);
      const excess = Number.isNaN(err) ? Infinity : err - (atol + rtol * Math.abs(numeric));
      if (excess > worstExcess) {
        worstExcess = excess;
        worst = { input: j.input, index: unravel(j.index, inputs[j.input].shape), analytic: a, numeric };
      }
      checked++;
    });
    jobs.length = 0;
  };
  const evalAt = (i: number, vals: Float32Array) =>
    tidy(() => {
      const xs = inputs.map((x, k) => (k === i ? tensor(vals, x.shape) : x));
      return f(...xs);
    });
  for (let i = 0; i < inputs.length; i++) {
    const base = host[i] as Float32Array;
    for (let j = 0; j < base.length; j++) {
      const hi = Float32Array.from(base);
      const lo = Float32Array.from(base);
      hi[j] = base[j] + eps;
      lo[j] = base[j] - eps;
      // The float32-rounded points are what f sees: their exact float64 difference is the step.
      jobs.push({ input: i, index: j, step: hi[j] - lo[j] });
      evals.push(evalAt(i, hi), evalAt(i, lo));
      if (jobs.length === 64) await flush();
    }
  }
  if (jobs.length) await flush();
  const ok = worstExcess <= 0;
  const wst = worst as GradcheckReport['worst'];
  const at = wst ? `input ${wst.input} element [${wst.index}]: analytic ${wst.analytic}, numeric ${wst.numeric}` : 'no elements';
  const message = ok
    ? `gradcheck ok: ${checked} elements, max |error| ${maxAbs.toExponential(2)} (worst ${at})`
    : `gradcheck failed: ${at} (|error| ${Math.abs(wst!.analytic - wst!.numeric).toExponential(2)} > atol ${atol} + rtol ${rtol}·|numeric|)`;
  const report: GradcheckReport = { ok, checked, maxAbsError: maxAbs, worst: wst, message };
  if (!ok && throwOnFail) throw new LanternaError(message);
  return report;
}
