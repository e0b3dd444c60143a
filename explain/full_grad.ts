// FullGrad (Srinivas & Fleuret 2019) as pytorch-grad-cam computes it: |x ⊙ ∂y/∂x| plus, for every
// bias b of a convolution or BatchNormalization, |b ⊙ ∂y/∂z| with z the output the bias is added to
// (a convolution's pre-activation; BatchNormalization's output, whose bias is β − μ·γ/√(σ² + ε)).
// Each channel of each term is min–max normalised ((t − min) / (max − min + 1e-7)), summed over
// channels, resized to the input (bilinear, half-pixel: cv2.INTER_LINEAR) and added. Normalising
// per channel before the resize, then summing, equals resizing the sum (bilinear is linear), which
// is what runs. The map is at the input's resolution; there is no layer to choose. Dense biases
// are left out, as there. eigenSmooth is refused (pytorch-grad-cam projects a ÷8 stack of the terms).

import * as E from '../nn/engine.ts';
import type { Tensor } from '../nn/engine.ts';
import type { Layer } from '../nn/layer.ts';
import { Model } from '../nn/model.ts';
import { CamMethod, type CamContext, type CamForward, type CamRequest } from './cam_base.ts';

const CONVS = new Set(['Conv2D', 'DepthwiseConv2D', 'SeparableConv2D']);

/** A bias site: the tensor a bias is added to, [N, h, w, K], and the bias, [K]. */
interface Site {
  z: Tensor;
  bias: Tensor;
}

/** FullGrad: input × gradient plus bias × gradient of every convolution and BatchNormalization, at the input resolution. */
export class FullGrad extends CamMethod {
  readonly name = 'FullGrad';
  protected readonly relu = true;
  /** The bias sites of each explanation, by its (watched) input. */
  private readonly sites = new WeakMap<Tensor, Site[]>();

  /** The convolutions with a bias, and the BatchNormalization nodes (by capture name) of the model. */
  biasLayers(): { convs: Layer[]; norms: { name: string; layer: Layer }[] } {
    const convs = this.model.allLayers().filter((l) => CONVS.has(l.className) && l.weights.some((w) => w.name === 'bias'));
    return { convs, norms: normNodes(this.model, '') };
  }

  protected override forward(x: Tensor, req: CamRequest): CamForward {
    if (req.eigenSmooth) throw new Error('FullGrad: eigenSmooth is not supported');
    const { convs, norms } = this.biasLayers();
    if (!convs.length && !norms.length)
      throw new Error(`FullGrad: model '${this.model.name}' has no convolution with a bias and no BatchNormalization; FullGrad needs the gradients at the biases (use another method)`);
    const input = E.reshape(x, x.shape);
    if (!input.requiresGrad) input.requiresGrad = true;
    const sites: Site[] = [];
    const off = convs.map((l) => l.onPreActivation((z) => sites.push({ z, bias: l.weights.find((w) => w.name === 'bias')!.value })));
    let fwd;
    try {
      fwd = this.model.forward(input, { training: false, watch: true }, norms.map((b) => b.name), { output: this.outputIndex(req) });
    } finally {
      off.forEach((f) => f());
    }
    for (const b of norms) sites.push({ z: fwd.captured.get(b.name)!, bias: E.noGrad(() => normBias(b.layer)) });
    this.sites.set(input, sites);
    return { layer: '', activations: input, output: fwd.output, logits: fwd.logits };
  }

  protected override async map(ctx: CamContext): Promise<Tensor> {
    const x = ctx.activations;
    const sites = this.sites.get(x)!;
    const [n, H, W] = x.shape;
    return ctx.run(() => {
      const [dx, ...dz] = ctx.gradientsOf([x, ...sites.map((s) => s.z)]);
      let total = channelSum(E.abs(E.mul(x, dx)));
      sites.forEach((s, i) => {
        const t = channelSum(E.abs(E.mul(dz[i], s.bias)));
        total = E.add(total, t.shape[1] === H && t.shape[2] === W ? t : E.resize(t, [H, W], { mode: 'bilinear', coord: 'half_pixel' }));
      });
      return E.reshape(total, [n, H, W]);
    });
  }
}

/** Σ over channels of each channel min–max normalised over (h, w): [N, h, w, K] → [N, h, w, 1]. */
function channelSum(t: Tensor): Tensor {
  const shifted = E.sub(t, E.min(t, [1, 2], true));
  return E.sum(E.div(shifted, E.affine(E.max(shifted, [1, 2], true), 1, 1e-7)), 3, true);
}

/** BatchNormalization's bias at inference: β − μ·γ/√(σ² + ε) (γ = 1, β = 0 where absent). */
function normBias(l: Layer): Tensor {
  const w = (name: string) => l.weights.find((v) => v.name === name)?.value ?? null;
  const eps = (l as Layer & { epsilon: number }).epsilon;
  const gamma = w('gamma');
  const scaled = E.div(w('moving_mean')!, E.sqrt(E.affine(w('moving_variance')!, 1, eps)));
  const shift = gamma ? E.mul(scaled, gamma) : scaled;
  const beta = w('beta');
  return beta ? E.sub(beta, shift) : E.neg(shift);
}

/** Every BatchNormalization node on spatial maps, named as forward() captures it ('outer/inner' inside nested models). */
function normNodes(m: Model, prefix: string): { name: string; layer: Layer }[] {
  return m.nodes.flatMap((node, i) => {
    const name = prefix + m.nodeName(i);
    if (node.layer instanceof Model) return normNodes(node.layer, `${name}/`);
    return node.layer.className === 'BatchNormalization' && node.shapes[0]?.length === 3 ? [{ name, layer: node.layer }] : [];
  });
}
