// The audit's verdict in one line. A model relies on the cue when changing the cue alone changes
// most of its predictions, or, for a local cue, when a method's map peaks on the cue for most
// images; "most" is `threshold` (0.5). It partly relies on it when the change flips a share of
// predictions above `partly` (0.1: the clean cam1 flips 3%, a model trained with the cue on 80% of
// its digits 17 to 20%); the maps' peaks are no evidence at that level (some methods peak on an
// unfamiliar mark in a quarter of the clean model's digits). The line quotes the evidence either
// way, and for a global cue says that a map cannot localise it: the cue is everywhere, so is the map.

import type { Audit, MethodAudit } from './audit.ts';

/** How the verdict describes the cue. */
export interface VerdictOptions {
  /** Words for the cue in the sentence ('the corner mark', 'the background brightness'). */
  cue: string;
  /** A cue spread over the whole image (the weather): the pointing game is not evidence. */
  global: boolean;
  /** Share from which pointing or flips count as reliance; default 0.5. */
  threshold?: number;
  /** Share of flipped predictions from which the model partly relies on the cue; default 0.1. */
  partly?: number;
  /** What the counterfactual did, as a verb phrase ('swapping the mark for another class's'); default 'changing the cue alone'. */
  change?: string;
}

/** The verdict and what it rests on. */
export interface Verdict {
  /** Whether the audit finds that the model relies on the cue. */
  relies: boolean;
  /** 'relies', 'partly' (some predictions follow the cue), or 'none'. */
  level: 'relies' | 'partly' | 'none';
  /** By the counterfactual (null when there was none). */
  byCounterfactual: boolean | null;
  /** By the pointing game of the best method (null for a global cue). */
  byPointing: boolean | null;
  /** The method with the highest pointing rate (the first on ties). */
  best: string;
  /** The sentence. */
  line: string;
}

const pct = (v: number) => (Number.isFinite(v) ? `${Math.round(v * 100)}%` : 'n/a');

/** The one-line verdict of `a` (see the rule above). Throws when the audit ran no method. */
export function verdict(a: Audit, o: VerdictOptions): Verdict {
  const t = o.threshold ?? 0.5;
  if (!a.methods.length) throw new Error('audit verdict: no method was run');
  const best = a.methods.reduce((b, m) => (m.pointing > b.pointing ? m : b), a.methods[0]);
  const cf = a.counterfactual;
  const byCounterfactual = cf ? cf.flipRate >= t : null;
  const byPointing = o.global ? null : best.pointing >= t;
  const relies = Boolean(byCounterfactual || byPointing);
  const partly = !relies && cf !== null && cf.flipRate >= (o.partly ?? 0.1);
  const change = o.change ?? 'changing the cue alone';
  const flips = cf ? `${change} changes ${pct(cf.flipRate)} of predictions` : '';
  const maps = (m: MethodAudit) => `${m.name}'s peak lies on ${o.cue} in ${pct(m.pointing)} of images, ${pct(m.cueMass)} of its mass (${o.cue} covers ${pct(a.cueArea)} of the image)`;
  let line: string;
  if (relies && o.global)
    line = `relies on the cue: ${flips}; the maps cannot show a cue that is everywhere (${best.name}: ${pct(best.cueMass)} of the mass on ${o.cue}, which covers ${pct(a.cueArea)} of the image)`;
  else if (relies && byPointing) line = `relies on the cue: ${maps(best)}${cf ? `; ${flips}` : ''}`;
  else if (relies) line = `relies on the cue: ${flips}, though no map points at it (best: ${maps(best)})`;
  else {
    const figures = `${cf ? `${flips}; ` : ''}${o.global ? `${best.name}: ${pct(best.cueMass)} of the mass on it (covering ${pct(a.cueArea)} of the image)` : maps(best)}`;
    line = partly ? `partly relies on ${o.cue}: ${figures}` : `no sign that it relies on ${o.cue}: ${figures}`;
  }
  return { relies, level: relies ? 'relies' : partly ? 'partly' : 'none', byCounterfactual, byPointing, best: best.method, line };
}
