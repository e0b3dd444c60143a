// Keeps the public API documented (issue 16): every symbol the entry points export (lib/*.ts,
// through export * and named re-exports) and every user-facing member of their classes and
// interfaces has a doc comment, `lanterna` exports exactly the three areas, and docs/api/ is
// what `npm run docs` makes of the comments now. Reads the declarations tsc emitted next to this
// file (dist*/lib/*.d.ts); no GPU, no network.

import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { anchorsOf, coverage, ENTRY_POINTS, extract, renderPages } from '../scripts/api_docs.ts';

const root = fileURLToPath(new URL('../../', import.meta.url));
const lib = fileURLToPath(new URL('../lib/', import.meta.url));
const docs = join(root, 'docs', 'api');

const t0 = Date.now();
const models = extract(root, lib);
const pages = renderPages(models);
const cov = coverage(models);
console.log(`api docs: ${cov.documented}/${cov.total} documented, ${((Date.now() - t0) / 1000).toFixed(1)} s`);

test('every export of the entry points, and every public member, has a doc comment', () => {
  assert.ok(cov.total > 500, `only ${cov.total} items found: did the extraction miss an entry point?`);
  assert.equal(cov.missing, [], `${cov.missing.length} exports without a doc comment (/** … */ at the declaration):\n  ${cov.missing.join('\n  ')}`);
});

test('lanterna exports exactly what lanterna/engine, lanterna/nn and lanterna/explain export', () => {
  assert.equal(cov.rootMismatch, [], cov.rootMismatch.join('\n'));
});

test('docs/api/ matches the doc comments (run npm run docs after changing a comment or an export)', () => {
  for (const [file, text] of pages) {
    let committed = '';
    try {
      committed = readFileSync(join(docs, file), 'utf8');
    } catch {
      assert.unreachable(`docs/api/${file} is missing: run npm run docs`);
    }
    if (committed === text) continue;
    const a = committed.split('\n');
    const b = text.split('\n');
    let i = 0;
    while (i < a.length && i < b.length && a[i] === b[i]) i++;
    assert.unreachable(
      `docs/api/${file} is stale: run npm run docs. First difference at line ${i + 1}:\n  committed: ${a[i] ?? '(end)'}\n  generated: ${b[i] ?? '(end)'}`,
    );
  }
  const expected = new Set([...pages.keys(), 'README.md']);
  const extra = readdirSync(docs).filter((f) => !expected.has(f));
  assert.equal(extra, [], `docs/api/ holds files npm run docs does not make: ${extra.join(', ')}`);
});

test('docs/api/README.md links only to pages and anchors that exist', () => {
  const readme = readFileSync(join(docs, 'README.md'), 'utf8');
  const links = [...readme.matchAll(/\]\(([a-z_]+\.md)(?:#([\w-]+))?\)/g)];
  assert.ok(links.length >= ENTRY_POINTS.length, 'the index links each area page');
  const bad: string[] = [];
  for (const [, page, anchor] of links) {
    const text = pages.get(page);
    if (!text) bad.push(`${page} (no such page)`);
    else if (anchor && !anchorsOf(text).has(anchor)) bad.push(`${page}#${anchor} (no such heading)`);
  }
  assert.equal(bad, [], `broken links in docs/api/README.md: ${bad.join(', ')}`);
});

test.run();
