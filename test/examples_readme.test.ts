// Keeps the README's library section true: each `<!-- examples/X -->` marker is followed by a
// fenced block equal to examples/X, and the three uses (gradients, training, explaining) are all
// there. The examples themselves run against the packed tarball (test/runtimes/package.ts).

import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { existsSync, readdirSync, readFileSync } from 'node:fs';

const README = readFileSync('README.md', 'utf8');
const blocks = [...README.matchAll(/<!-- (examples\/[\w.-]+) -->\n```\w*\n([\s\S]*?)```\n/g)].map((m) => ({ file: m[1], body: m[2] }));

test('the README shows the three library examples', () => {
  assert.equal(
    blocks.map((b) => b.file),
    ['examples/gradients.mjs', 'examples/training.mjs', 'examples/explaining.mjs'],
  );
});

test('each README example is its file, verbatim', () => {
  for (const { file, body } of blocks) {
    assert.ok(existsSync(file), `${file} is shown in the README but does not exist`);
    const text = readFileSync(file, 'utf8');
    if (text !== body) {
      const a = text.split('\n');
      const b = body.split('\n');
      const i = a.findIndex((l, k) => l !== b[k]);
      assert.unreachable(`README's copy of ${file} differs from the file at line ${i + 1}:\n  file:   ${a[i]}\n  README: ${b[i]}`);
    }
  }
});

test('every example file is run by the package test', () => {
  const runner = readFileSync('test/runtimes/package.ts', 'utf8');
  for (const f of readdirSync('examples').filter((f) => /\.(mjs|ts|html|js)$/.test(f)))
    assert.ok(runner.includes(f), `test/runtimes/package.ts does not run examples/${f}`);
});

test.run();
