// The picture of the two cues in docs/TANK.md: the first ten test digits, for each cue kind with
// their own class's cue, with the cue removed, and swapped for another class's (caption: label/cue).
//   node dist/scripts/tank_cues.js [docs/screenshots/tank-cues.png]

import { enlarge, grid, type Tile } from '../explain/grid.ts';
import { writePng } from '../explain/png.ts';
import { loadMnist } from '../nn/data/mnist.ts';
import { CUE_KINDS, shortcutSet } from '../nn/data/shortcut.ts';

const out = process.argv[2] ?? 'docs/screenshots/tank-cues.png';
const test = await loadMnist({ split: 'test', limit: 10 });
const tiles: Tile[] = [];
for (const kind of CUE_KINDS)
  for (const mode of ['matched', 'removed', 'swapped'] as const) {
    const s = shortcutSet(test, { kind, mode });
    for (let i = 0; i < s.n; i++) {
      const rgb = new Uint8Array(784 * 3);
      for (let j = 0; j < 784; j++) rgb.fill(255 - s.images[i * 784 + j], 3 * j, 3 * j + 3);
      tiles.push({ ...enlarge({ rgb, width: 28, height: 28 }, 3), caption: `${s.labels[i]}/${s.cues[i] < 0 ? '-' : s.cues[i]}` });
    }
  }
await writePng(out, grid(tiles, 10));
console.log(`wrote ${out}: rows mark (own cue, removed, swapped), then weather; caption label/cue`);
