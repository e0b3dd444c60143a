// Elementwise unary ops. Backward is one fused kernel per op (dx = f'(x, y)·dy) reading the
// saved input and output, so no intermediate tensor is made.

import { unaryGradKernel, unaryKernel, type UnaryOp } from '../../kernels/elementwise.ts';
import { composable, gradKernel, isGradEnabled, record, type TapeNode } from '../autograd.ts';
import { run } from '../run.ts';
import { checkInputs, scalar, type Tensor } from '../tensor.ts';
import { add, binary, div, mul } from './binary.ts';
import { onesLike } from './create.ts';

function unaryGrad(node: TapeNode, dy: Tensor): Tensor[] {
  const [x] = node.inputs;
  const { p, q } = node.attrs as { p: number; q: number };
  const op = node.op as UnaryOp;
  return [run(`${op}.grad`, unaryGradKernel(op, x.size, x.storage.gpu.plan.cpuDriver, p, q), [x, node.output, dy], x.shape)];
}
gradKernel(unaryGrad, 'unaryGradKernel');

// Piecewise linear: f′(x) is piecewise constant, so the kernel's dx for dy = 1 is a constant
// mask and dx = dy·mask is exact to every order (as PyTorch, zero second derivative).
const PIECEWISE_LINEAR: ReadonlySet<string> = new Set(['relu', 'relu6', 'abs', 'affine', 'neg', 'leaky_relu', 'hard_sigmoid', 'hard_sigmoid_keras2']);

/** f′(x) from recorded ops of x and y, so that it can be differentiated again (createGraph). */
function smoothDerivative(op: string, x: Tensor, y: Tensor): Tensor | null {
  const c = (v: number) => scalar(v);
  switch (op) {
    case 'sigmoid':
      return mul(y, affine(y, -1, 1));
    case 'tanh':
      return affine(square(y), -1, 1);
    case 'exp':
      return y;
    case 'log':
      return div(c(1), x);
    case 'sqrt':
      return div(c(0.5), y);
    case 'square':
      return affine(x, 2);
    case 'softplus':
      return sigmoid(x);
    case 'swish': {
      const s = sigmoid(x);
      return mul(s, affine(mul(x, affine(s, -1, 1)), 1, 1));
    }
    case 'softsign':
      return div(c(1), square(affine(abs(x), 1, 1)));
    case 'gelu': {
      // Φ has no op of its own: y′ = Φ(x) + x·φ(x) from the fused kernel (dy = 1), recorded as
      // an op of x whose own derivative, φ(x)·(2 − x²), is composed.
      const d = run('gelu.grad', unaryGradKernel('gelu', x.size, x.storage.gpu.plan.cpuDriver, 1, 0), [x, y, onesLike(x)], x.shape);
      return record('gelu.prime', [x], d, geluPrimeGrad);
    }
    case 'gelu_tanh': {
      // y = x/2·(1 + t), t = tanh(k(x + a·x³)): y′ = (1 + t)/2 + x/2·(1 − t²)·k(1 + 3a·x²)
      const k = Math.sqrt(2 / Math.PI);
      const a = 0.044715;
      const t = tanh(affine(mul(x, affine(square(x), a, 1)), k));
      const du = affine(square(x), 3 * a * k, k);
      return add(affine(t, 0.5, 0.5), mul(affine(x, 0.5), mul(affine(square(t), -1, 1), du)));
    }
    default:
      return null;
  }
}

/** d/dx of gelu′(x) = Φ(x) + x·φ(x): φ(x)·(2 − x²), φ(x) = e^(−x²/2)/√(2π). */
function geluPrimeGrad(node: TapeNode, g: Tensor): Tensor[] {
  const [x] = node.inputs;
  const x2 = square(x);
  const phi = affine(exp(affine(x2, -0.5)), 1 / Math.sqrt(2 * Math.PI));
  return [mul(g, mul(phi, affine(x2, -1, 2)))];
}
composable(geluPrimeGrad);

/** The unary rule under createGraph: composed from recorded ops; otherwise the fused kernel. */
const unaryGradComposed = composable(function unaryGradComposed(node: TapeNode, dy: Tensor): Tensor[] {
  if (!isGradEnabled()) return unaryGrad(node, dy);
  const [x] = node.inputs;
  const op = node.op;
  if (PIECEWISE_LINEAR.has(op)) {
    const { p, q } = node.attrs as { p: number; q: number };
    const mask = run(`${op}.grad`, unaryGradKernel(op as UnaryOp, x.size, x.storage.gpu.plan.cpuDriver, p, q), [x, node.output, onesLike(x)], x.shape);
    return [mul(dy, mask)];
  }
  return [mul(dy, smoothDerivative(op, x, node.output)!)];
});

const COMPOSED: ReadonlySet<string> = new Set([...PIECEWISE_LINEAR, 'sigmoid', 'tanh', 'exp', 'log', 'sqrt', 'square', 'softplus', 'swish', 'softsign', 'gelu_tanh', 'gelu']);

/**
 * The elementwise op `op` on a float32 tensor, with its gradient; `p` and `q` are the op's parameters (alpha,
 * scale, shift). Prefer the named ops (`relu`, `exp`, …).
 */
export function unary(op: UnaryOp, x: Tensor, p = 1, q = 0): Tensor {
  checkInputs(op, [x]);
  const y = run(op, unaryKernel(op, x.size, x.storage.gpu.plan.cpuDriver, p, q), [x], x.shape);
  return record(op, [x], y, COMPOSED.has(op) ? unaryGradComposed : unaryGrad, { p, q });
}

/** max(x, 0), elementwise. */
export const relu = (x: Tensor) => unary('relu', x);
/** min(max(x, 0), 6), elementwise. */
export const relu6 = (x: Tensor) => unary('relu6', x);
/** x for x > 0, alpha·(eˣ − 1) below, elementwise. */
export const elu = (x: Tensor, alpha = 1) => unary('elu', x, alpha);
/** 1 / (1 + e⁻ˣ), elementwise. */
export const sigmoid = (x: Tensor) => unary('sigmoid', x);
/** Hyperbolic tangent, elementwise. */
export const tanh = (x: Tensor) => unary('tanh', x);
/** eˣ, elementwise. */
export const exp = (x: Tensor) => unary('exp', x);
/** Natural logarithm, elementwise (for x > 0). */
export const log = (x: Tensor) => unary('log', x);
/** −x, elementwise. */
export const neg = (x: Tensor) => unary('neg', x);
/** Square root, elementwise (for x ≥ 0). */
export const sqrt = (x: Tensor) => unary('sqrt', x);
/** |x|, elementwise (gradient 0 at 0). */
export const abs = (x: Tensor) => unary('abs', x);
/** x², elementwise. */
export const square = (x: Tensor) => unary('square', x);
/** x·σ(x), also called SiLU (Keras 'swish' and 'silu'). */
export const swish = (x: Tensor) => unary('swish', x);
/** y = scale·x + shift */
export const affine = (x: Tensor, scale: number, shift = 0) => unary('affine', x, scale, shift);
/** s·x, elementwise. */
export const scale = (x: Tensor, s: number) => unary('affine', x, s, 0);
/** Keras 3 hard_sigmoid relu6(x + 3)/6; hardSigmoidKeras2 is Keras 2's clip(0.2x + 0.5, 0, 1). */
export const hardSigmoid = (x: Tensor) => unary('hard_sigmoid', x);
/** Keras 2's hard_sigmoid clip(0.2·x + 0.5, 0, 1), elementwise. */
export const hardSigmoidKeras2 = (x: Tensor) => unary('hard_sigmoid_keras2', x);
/** x·relu6(x + 3)/6 (Keras hard_swish / hard_silu). */
export const hardSwish = (x: Tensor) => unary('hard_swish', x);
/** x·Φ(x); approximate: Keras' tanh form. */
export const gelu = (x: Tensor, approximate = false) => unary(approximate ? 'gelu_tanh' : 'gelu', x);
/** SELU: scale·elu(x, alpha) with Keras' constants (alpha ≈ 1.6733, scale ≈ 1.0507), elementwise. */
export const selu = (x: Tensor) => unary('selu', x);
/** log(1 + eˣ), elementwise. */
export const softplus = (x: Tensor) => unary('softplus', x);
/** x / (1 + |x|), elementwise. */
export const softsign = (x: Tensor) => unary('softsign', x);
/** x for x > 0, alpha·x below (Keras' activation default alpha is 0.2; the LeakyReLU layer's 0.3). */
export const leakyRelu = (x: Tensor, alpha = 0.2) => unary('leaky_relu', x, alpha);
