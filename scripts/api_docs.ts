// Builds the API reference (docs/api/*.md) from the doc comments of the public entry points.
//
// API Extractor reads the emitted declarations (dist/lib/*.d.ts) with its own bundled TypeScript
// (the project's TypeScript 7 has no JS compiler API) and writes a doc model per entry point;
// this file renders each model as one Markdown page and lists the exports without a comment.
//
//   npm run docs                      # tsc, then this: rewrites docs/api/{engine,nn,explain}.md
//   node dist/scripts/api_docs.js     # the same on an existing build
//
// test/api_docs.test.ts runs the same functions on dist-dev and fails on a missing comment or on
// a page that differs from the committed one.

import { mkdtempSync, readFileSync, rmSync, writeFileSync, mkdirSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, relative } from 'node:path';
import { fileURLToPath } from 'node:url';
import { CompilerState, Extractor, ExtractorConfig, ExtractorLogLevel, type IConfigFile } from '@microsoft/api-extractor';
import {
  ApiClass,
  ApiDeclaredItem,
  ApiDocumentedItem,
  ApiInterface,
  ApiItem,
  ApiItemKind,
  ApiModel,
  ApiPackage,
  ApiPropertyItem,
  ApiProtectedMixin,
  ApiOptionalMixin,
  ExcerptTokenKind,
} from '@microsoft/api-extractor-model';
import { DocNodeKind, StandardTags, type DocComment, type DocNode, type DocSection } from '@microsoft/tsdoc';

/** A package entry point: its page in docs/api/ and the subpath users import. */
export interface EntryPoint {
  /** The declaration file's base name under dist/lib/, and the page's (`engine` → engine.md). */
  name: string;
  /** What users write in `import … from`. */
  specifier: string;
}

/** The pages: one per area. `lanterna` itself re-exports all three (checked by `coverage`). */
export const ENTRY_POINTS: EntryPoint[] = [
  { name: 'engine', specifier: 'lanterna/engine' },
  { name: 'nn', specifier: 'lanterna/nn' },
  { name: 'explain', specifier: 'lanterna/explain' },
];

/** The root entry point, whose exports must be exactly the areas' exports. */
export const ROOT: EntryPoint = { name: 'index', specifier: 'lanterna' };

/** One entry point's doc model, and what API Extractor said about it. */
export interface Extracted {
  entry: EntryPoint;
  pkg: ApiPackage;
  /** Types the API mentions but no entry point exports (API Extractor's ae-forgotten-export). */
  forgotten: string[];
  /** TSDoc syntax warnings, as `file:line message`. */
  tsdocWarnings: string[];
}

/**
 * Runs API Extractor on `libDir`'s declarations (dist/lib or dist-dev/lib) for every entry point
 * plus the root. `root` is the repository (its package.json names the package, its node_modules
 * holds @types/node and @webgpu/types). Throws on a compiler or extractor error.
 */
export function extract(root: string, libDir: string, entries: EntryPoint[] = [...ENTRY_POINTS, ROOT]): Extracted[] {
  const work = mkdtempSync(join(tmpdir(), 'lanterna-api-'));
  const cwd = process.cwd();
  // Type roots are looked up from the working directory, not the project folder.
  process.chdir(root);
  try {
    let compilerState: CompilerState | undefined;
    return entries.map((entry) => {
      const config = ExtractorConfig.prepare({
        configObject: extractorConfig(root, join(libDir, `${entry.name}.d.ts`), join(work, `${entry.name}.api.json`)),
        configObjectFullPath: undefined,
        packageJsonFullPath: join(root, 'package.json'),
      });
      compilerState ??= CompilerState.create(config, { additionalEntryPoints: entries.map((e) => join(libDir, `${e.name}.d.ts`)) });
      const forgotten: string[] = [];
      const tsdocWarnings: string[] = [];
      const errors: string[] = [];
      Extractor.invoke(config, {
        localBuild: true,
        compilerState,
        messageCallback: (m) => {
          m.handled = true;
          const where = m.sourceFilePath ? `${relative(root, m.sourceFilePath)}:${m.sourceFileLine} ` : '';
          if (m.logLevel === ExtractorLogLevel.Error) errors.push(`${where}${m.text}`);
          else if (m.messageId === 'ae-forgotten-export') forgotten.push(/"([^"]+)"/.exec(m.text)?.[1] ?? m.text);
          else if (m.messageId.startsWith('tsdoc-')) tsdocWarnings.push(`${where}${m.text}`);
        },
      });
      if (errors.length) throw new Error(`api-extractor on ${entry.name}.d.ts: ${errors.join('; ')}`);
      const pkg = new ApiModel().loadPackage(join(work, `${entry.name}.api.json`));
      return { entry, pkg, forgotten: [...new Set(forgotten)].sort(), tsdocWarnings };
    });
  } finally {
    process.chdir(cwd);
    rmSync(work, { recursive: true, force: true });
  }
}

function extractorConfig(root: string, entryDts: string, apiJson: string): IConfigFile {
  return {
    projectFolder: root,
    mainEntryPointFilePath: entryDts,
    compiler: {
      overrideTsconfig: {
        compilerOptions: {
          target: 'ES2022',
          module: 'NodeNext',
          moduleResolution: 'NodeNext',
          strict: true,
          skipLibCheck: true,
          allowImportingTsExtensions: true,
          noEmit: true,
          types: ['node', '@webgpu/types'],
          lib: ['ES2022', 'DOM'],
        },
        files: [entryDts],
      },
    },
    apiReport: { enabled: false },
    docModel: { enabled: true, apiJsonFilePath: apiJson, releaseTagsToTrim: ['@internal'] },
    dtsRollup: { enabled: false },
    tsdocMetadata: { enabled: false },
    messages: {
      compilerMessageReporting: { default: { logLevel: ExtractorLogLevel.Error } },
      extractorMessageReporting: {
        default: { logLevel: ExtractorLogLevel.Warning },
        'ae-missing-release-tag': { logLevel: ExtractorLogLevel.None },
      },
      tsdocMessageReporting: { default: { logLevel: ExtractorLogLevel.Warning } },
    },
  };
}

// ---- Coverage ----------------------------------------------------------------------------------

/** What the coverage check found over all the areas' exports. */
export interface Coverage {
  /** Documented items / all items: top-level exports and their user-facing members. */
  documented: number;
  total: number;
  /** `name (file)` or `Class.member (file)` of each item without a doc comment. */
  missing: string[];
  /** Exports of `lanterna` that no area page documents, and area exports that `lanterna` lacks. */
  rootMismatch: string[];
}

/**
 * Counts the doc comments. A top-level export counts once (an overloaded function is documented
 * when one of its signatures is); so does each public member of a class or interface, except
 * constructors (the class comment covers them) and members that override a documented member of
 * a base class (they inherit its comment, as readers of the base class expect). Members tagged
 * `@internal` are left out of the model and of the count.
 */
export function coverage(models: Extracted[]): Coverage {
  const areas = models.filter((m) => m.entry !== ROOT && m.entry.name !== ROOT.name);
  const byName = indexExports(areas);
  let documented = 0;
  let total = 0;
  const missing: string[] = [];
  const count = (ok: boolean, name: string) => {
    total++;
    if (ok) documented++;
    else missing.push(name);
  };
  for (const m of areas) {
    for (const [name, items] of groupByName(exportsOf(m.pkg))) {
      count(items.some(hasDoc), `${name} (${sourceOf(items[0])})`);
      const first = items[0];
      if (!(first instanceof ApiClass || first instanceof ApiInterface)) continue;
      for (const [member, overloads] of groupByName(userMembers(first))) {
        const ok = overloads.some(hasDoc) || paramDoc(first, member) !== undefined || inheritedDoc(first, member, byName) !== undefined;
        count(ok, `${name}.${member} (${sourceOf(first)})`);
      }
    }
  }
  const rootModel = models.find((m) => m.entry.name === ROOT.name);
  const rootMismatch: string[] = [];
  if (rootModel) {
    const rootNames = new Set(exportsOf(rootModel.pkg).map(nameOf));
    for (const n of rootNames) if (!byName.has(n)) rootMismatch.push(`${n} (only in lanterna)`);
    for (const n of byName.keys()) if (!rootNames.has(n)) rootMismatch.push(`${n} (missing from lanterna)`);
  }
  return { documented, total, missing: missing.sort(), rootMismatch: rootMismatch.sort() };
}

function exportsOf(pkg: ApiPackage): ApiItem[] {
  return pkg.entryPoints[0].members.slice();
}

function nameOf(item: ApiItem): string {
  return item.displayName;
}

/**
 * Whether the item's comment has a summary. (API Extractor writes a remark of its own on a class
 * whose constructor is internal; that is not a comment.)
 */
function hasDoc(item: ApiItem): boolean {
  if (!(item instanceof ApiDocumentedItem) || !item.tsdocComment) return false;
  const text = (n: DocNode): string =>
    n.kind === DocNodeKind.PlainText || n.kind === DocNodeKind.CodeSpan
      ? 'x'
      : n.getChildNodes().map(text).join('');
  return text(item.tsdocComment.summarySection).trim() !== '';
}

function groupByName(items: readonly ApiItem[]): Map<string, ApiItem[]> {
  const out = new Map<string, ApiItem[]>();
  for (const it of items) {
    const list = out.get(it.displayName) ?? [];
    list.push(it);
    out.set(it.displayName, list);
  }
  return out;
}

/** Public members a user reads about: no constructors, nothing protected. */
function userMembers(item: ApiClass | ApiInterface): ApiItem[] {
  return item.members.filter(
    (m) => m.kind !== ApiItemKind.Constructor && !(ApiProtectedMixin.isBaseClassOf(m) && m.isProtected),
  );
}

/**
 * The constructor's `@param name` of a parameter property (`constructor(readonly model: Model)`),
 * which documents the property when it has no comment of its own.
 */
function paramDoc(owner: ApiClass | ApiInterface, member: string): DocSection | undefined {
  for (const c of owner.members) {
    if (c.kind !== ApiItemKind.Constructor || !(c instanceof ApiDocumentedItem)) continue;
    const block = c.tsdocComment?.params.tryGetBlockByName(member);
    if (block) return block.content;
  }
  return undefined;
}

/** Every area's exports by name, to follow `extends` and to link names in signatures. */
function indexExports(areas: Extracted[]): Map<string, { item: ApiItem; entry: EntryPoint }> {
  const out = new Map<string, { item: ApiItem; entry: EntryPoint }>();
  for (const m of areas) for (const item of exportsOf(m.pkg)) if (!out.has(item.displayName)) out.set(item.displayName, { item, entry: m.entry });
  return out;
}

/** The documented member `member` of the nearest base class or interface of `cls` (exported ones). */
function inheritedDoc(
  cls: ApiClass | ApiInterface,
  member: string,
  byName: Map<string, { item: ApiItem; entry: EntryPoint }>,
): { owner: string; item: ApiItem } | undefined {
  const bases = cls instanceof ApiClass ? [...(cls.extendsType ? [cls.extendsType] : []), ...cls.implementsTypes] : cls.extendsTypes;
  for (const base of bases) {
    const ref = base.excerpt.spannedTokens.find((t) => t.kind === ExcerptTokenKind.Reference);
    const found = ref && byName.get(ref.text.trim())?.item;
    if (!(found instanceof ApiClass || found instanceof ApiInterface)) continue;
    const own = found.members.find((m) => m.displayName === member && hasDoc(m));
    if (own) return { owner: found.displayName, item: own };
    const deeper = inheritedDoc(found, member, byName);
    if (deeper) return deeper;
  }
  return undefined;
}

// ---- Markdown ----------------------------------------------------------------------------------

/** GitHub's heading anchors: lower case, punctuation dropped, spaces to '-', repeats numbered. */
class Slugger {
  private seen = new Map<string, number>();
  slug(text: string): string {
    const base = text
      .toLowerCase()
      .replace(/[^\p{L}\p{N}\- _]/gu, '')
      .replace(/ /g, '-');
    const n = this.seen.get(base) ?? 0;
    this.seen.set(base, n + 1);
    return n === 0 ? base : `${base}-${n}`;
  }
}

/** The anchors of a Markdown page's headings, as GitHub makes them (fenced code skipped). */
export function anchorsOf(markdown: string): Set<string> {
  const slugger = new Slugger();
  const out = new Set<string>();
  let fenced = false;
  for (const line of markdown.split('\n')) {
    if (line.startsWith('```')) fenced = !fenced;
    const h = !fenced && /^#{1,6} (.*)$/.exec(line);
    if (h) out.add(slugger.slug(h[1].trim()));
  }
  return out;
}

/** Where each exported name is documented: page file and anchor. */
type Anchors = Map<string, { page: string; anchor: string }>;

const KIND_WORD: Partial<Record<ApiItemKind, string>> = {
  [ApiItemKind.Class]: 'class',
  [ApiItemKind.Interface]: 'interface',
  [ApiItemKind.Function]: 'function',
  [ApiItemKind.TypeAlias]: 'type',
  [ApiItemKind.Variable]: 'const',
  [ApiItemKind.Enum]: 'enum',
  [ApiItemKind.Namespace]: 'namespace',
};

/** The declaration's source file (`engine/ops/unary.ts`), whatever dist folder was read. */
function sourceOf(item: ApiItem): string {
  const p = item instanceof ApiDeclaredItem ? (item.fileUrlPath ?? '') : '';
  return p.replace(/^dist[^/]*\//, '').replace(/\.d\.ts$/, '.ts');
}

function byNameCI(a: string, b: string): number {
  const x = a.toLowerCase();
  const y = b.toLowerCase();
  return x < y ? -1 : x > y ? 1 : a < b ? -1 : a > b ? 1 : 0;
}

/** Groups an area's exports by source file, files and names in a stable order. */
function layout(pkg: ApiPackage): [string, [string, ApiItem[]][]][] {
  const files = new Map<string, Map<string, ApiItem[]>>();
  for (const item of exportsOf(pkg)) {
    const f = sourceOf(item);
    const names = files.get(f) ?? new Map<string, ApiItem[]>();
    names.set(item.displayName, [...(names.get(item.displayName) ?? []), item]);
    files.set(f, names);
  }
  return [...files.keys()]
    .sort(byNameCI)
    .map((f) => [f, [...files.get(f)!.entries()].sort((a, b) => byNameCI(a[0], b[0]))]);
}

/** Renders every area's page: file name → Markdown. */
export function renderPages(models: Extracted[]): Map<string, string> {
  const areas = models.filter((m) => m.entry.name !== ROOT.name);
  const byName = indexExports(areas);
  // Twice: the first pass finds each export's anchor, the second links to them across pages.
  const anchors: Anchors = new Map();
  for (const m of areas) renderPage(m, anchors, byName);
  const pages = new Map<string, string>();
  for (const m of areas) pages.set(`${m.entry.name}.md`, renderPage(m, anchors, byName));
  return pages;
}

function renderPage(m: Extracted, anchors: Anchors, byName: Map<string, { item: ApiItem; entry: EntryPoint }>): string {
  const page = `${m.entry.name}.md`;
  const slugger = new Slugger();
  const ctx: RenderContext = { page, anchors, slugger };
  const out: string[] = [];
  const heading = (level: number, text: string) => {
    out.push(`${'#'.repeat(level)} ${text}`, '');
    return slugger.slug(text);
  };
  heading(1, m.entry.specifier);
  out.push('<!-- Generated by npm run docs (scripts/api_docs.ts) from the doc comments. Do not edit. -->', '');
  if (m.pkg.tsdocComment) out.push(renderSection(m.pkg.tsdocComment.summarySection, ctx), '');
  out.push('```ts', `import { … } from '${m.entry.specifier}';`, '```', '');
  out.push('Everything here is also exported by `lanterna`. [The index](README.md) links the other areas.', '');
  const groups = layout(m.pkg);
  heading(2, 'Contents');
  for (const [file, names] of groups) out.push(`- ${file}: ${names.map(([n]) => link(n, ctx)).join(', ')}`);
  out.push('');
  for (const [file, names] of groups) {
    heading(2, file);
    out.push(`Source: [${file}](../../${file})`, '');
    for (const [name, items] of names) {
      anchors.set(name, { page, anchor: heading(3, name) });
      out.push(...renderExport(items, ctx, byName));
    }
  }
  return `${out.join('\n').replace(/\n{3,}/g, '\n\n').trimEnd()}\n`;
}

interface RenderContext {
  page: string;
  anchors: Anchors;
  slugger: Slugger;
}

function renderExport(
  items: ApiItem[],
  ctx: RenderContext,
  byName: Map<string, { item: ApiItem; entry: EntryPoint }>,
): string[] {
  const out: string[] = [];
  const first = items[0];
  out.push(`*${KIND_WORD[first.kind] ?? first.kind.toLowerCase()}*`, '');
  out.push(...signature(items));
  for (const it of items) if (it instanceof ApiDocumentedItem && it.tsdocComment) out.push(...renderComment(it.tsdocComment, ctx));
  if (first instanceof ApiClass || first instanceof ApiInterface) out.push(...renderMembers(first, ctx, byName));
  return out;
}

function signature(items: ApiItem[]): string[] {
  const lines = items.map((it) => (it instanceof ApiDeclaredItem ? it.excerpt.text.trim() : it.displayName));
  return ['```ts', ...lines.map((l) => l.replace(/^(export )?(declare )?/, '')), '```', ''];
}

function renderMembers(
  owner: ApiClass | ApiInterface,
  ctx: RenderContext,
  byName: Map<string, { item: ApiItem; entry: EntryPoint }>,
): string[] {
  const out: string[] = [];
  const groups = [...groupByName(owner.members.filter((m) => !(ApiProtectedMixin.isBaseClassOf(m) && m.isProtected))).entries()];
  const props: string[] = [];
  const inherited: string[] = [];
  const methods: string[] = [];
  for (const [member, overloads] of groups) {
    const documented = overloads.filter(hasDoc);
    if (documented.length === 0 && overloads[0].kind !== ApiItemKind.Constructor && !paramDoc(owner, member)) {
      const from = inheritedDoc(owner, member, byName);
      if (from) {
        inherited.push(`\`${member}\` (see ${link(from.owner, ctx)})`);
        continue;
      }
    }
    const first = overloads[0];
    if (first instanceof ApiPropertyItem) {
      const opt = ApiOptionalMixin.isBaseClassOf(first) && first.isOptional ? '?' : '';
      const ro = first.isReadonly ? 'readonly ' : '';
      // `readonly isTensor = true;` has no type excerpt, only its initializer.
      const type = first.propertyTypeExcerpt.text.trim() || (/=\s*(.+?);?$/.exec(first.excerpt.text.trim())?.[1] ?? '');
      const fromParam = paramDoc(owner, member);
      const doc =
        documented[0] instanceof ApiDocumentedItem && documented[0].tsdocComment
          ? inlineComment(documented[0].tsdocComment, ctx)
          : fromParam
            ? renderSection(fromParam, ctx).replace(/\n+/g, ' ').replace(/\|/g, '\\|')
            : '';
      props.push(`| \`${ro}${member}${opt}\` | ${codeCell(type)} | ${doc} |`);
    } else {
      const title = first.kind === ApiItemKind.Constructor ? `new ${owner.displayName}()` : `${owner.displayName}.${member}()`;
      ctx.slugger.slug(title);
      methods.push(`#### ${title}`, '', ...signature(overloads));
      for (const it of documented) if (it instanceof ApiDocumentedItem && it.tsdocComment) methods.push(...renderComment(it.tsdocComment, ctx));
    }
  }
  if (props.length) out.push('| Property | Type | Description |', '| --- | --- | --- |', ...props, '');
  if (inherited.length) out.push(`Overrides, documented on the base: ${inherited.join(', ')}.`, '');
  out.push(...methods);
  return out;
}

function codeCell(code: string): string {
  const flat = code.replace(/\s+/g, ' ').replace(/\|/g, '\\|');
  return flat.includes('`') ? `\`\` ${flat} \`\`` : `\`${flat}\``;
}

function link(name: string, ctx: RenderContext): string {
  const a = ctx.anchors.get(name);
  if (!a) return `\`${name}\``;
  return `[${name}](${a.page === ctx.page ? '' : a.page}#${a.anchor})`;
}

/** A member's comment on one line, for a table cell. */
function inlineComment(c: DocComment, ctx: RenderContext): string {
  const parts = [renderSection(c.summarySection, ctx)];
  if (c.remarksBlock) parts.push(renderSection(c.remarksBlock.content, ctx));
  const dflt = c.customBlocks.find((b) => b.blockTag.tagNameWithUpperCase === StandardTags.defaultValue.tagNameWithUpperCase);
  if (dflt) parts.push(`Default: ${renderSection(dflt.content, ctx)}`);
  return parts
    .filter((p) => p)
    .join(' ')
    .replace(/\n+/g, ' ')
    .replace(/\|/g, '\\|');
}

function renderComment(c: DocComment, ctx: RenderContext): string[] {
  const out: string[] = [];
  const summary = renderSection(c.summarySection, ctx);
  // API Extractor's stand-in for an uncommented constructor says nothing the heading does not.
  if (summary && !/^Constructs a new instance of the `[\w$]+` class$/.test(summary)) out.push(summary, '');
  if (c.deprecatedBlock) out.push(`**Deprecated.** ${renderSection(c.deprecatedBlock.content, ctx)}`, '');
  if (c.remarksBlock) out.push(renderSection(c.remarksBlock.content, ctx), '');
  const params = c.params.blocks.filter((p) => renderSection(p.content, ctx));
  if (params.length) {
    out.push('Parameters:', '');
    for (const p of params) out.push(`- \`${p.parameterName}\`: ${renderSection(p.content, ctx).replace(/\n+/g, ' ').replace(/^- /, '')}`);
    out.push('');
  }
  if (c.returnsBlock) out.push(`Returns: ${renderSection(c.returnsBlock.content, ctx)}`, '');
  for (const b of c.customBlocks) {
    const tag = b.blockTag.tagNameWithUpperCase;
    const body = renderSection(b.content, ctx);
    if (tag === StandardTags.throws.tagNameWithUpperCase) out.push(`Throws: ${body}`, '');
    else if (tag === StandardTags.example.tagNameWithUpperCase) out.push('Example:', '', body, '');
    else if (tag === StandardTags.defaultValue.tagNameWithUpperCase) out.push(`Default: ${body}`, '');
    else if (tag === StandardTags.see.tagNameWithUpperCase) out.push(`See: ${body}`, '');
    else out.push(`${b.blockTag.tagName.slice(1)}: ${body}`, '');
  }
  return out;
}

function renderSection(section: DocSection, ctx: RenderContext): string {
  return section.nodes
    .map((n) => renderNode(n, ctx))
    .join('\n\n')
    .replace(/\n{3,}/g, '\n\n')
    .trim();
}

function renderNode(n: DocNode, ctx: RenderContext): string {
  switch (n.kind) {
    case DocNodeKind.Paragraph:
      return n
        .getChildNodes()
        .map((c) => renderNode(c, ctx))
        .join('')
        .replace(/[ \t]*\n[ \t]*/g, '\n')
        .trim();
    case DocNodeKind.PlainText:
      return escapeText((n as unknown as { text: string }).text);
    case DocNodeKind.SoftBreak:
      return '\n';
    case DocNodeKind.CodeSpan: {
      const code = (n as unknown as { code: string }).code;
      return code.includes('`') ? `\`\` ${code} \`\`` : `\`${code}\``;
    }
    case DocNodeKind.FencedCode: {
      const f = n as unknown as { language: string; code: string };
      return `\`\`\`${f.language || 'ts'}\n${f.code.trimEnd()}\n\`\`\``;
    }
    case DocNodeKind.EscapedText:
      return escapeText((n as unknown as { decodedText: string }).decodedText);
    case DocNodeKind.ErrorText:
      return escapeText((n as unknown as { text: string }).text);
    case DocNodeKind.LinkTag: {
      const l = n as unknown as {
        linkText?: string;
        urlDestination?: string;
        codeDestination?: { memberReferences: { memberIdentifier?: { identifier: string } }[] };
      };
      if (l.urlDestination) return `[${l.linkText ?? l.urlDestination}](${l.urlDestination})`;
      const ids = l.codeDestination?.memberReferences.map((r) => r.memberIdentifier?.identifier ?? '') ?? [];
      const a = ctx.anchors.get(ids[0] ?? '');
      const text = l.linkText ?? ids.join('.');
      if (!a) return `\`${text}\``;
      return `[\`${text}\`](${a.page === ctx.page ? '' : a.page}#${a.anchor})`;
    }
    case DocNodeKind.HtmlStartTag:
    case DocNodeKind.HtmlEndTag:
      return escapeText((n as unknown as { emitAsHtml(): string }).emitAsHtml());
    default:
      return n
        .getChildNodes()
        .map((c) => renderNode(c, ctx))
        .join('');
  }
}

/** Keeps prose literal in Markdown: no HTML, no emphasis from `*` or `_` between spaces. */
function escapeText(s: string): string {
  return s.replace(/</g, '&lt;').replace(/(^|\s)([*_])(?=\s|$)/g, '$1\\$2');
}

// ---- The script ----------------------------------------------------------------------------------

/** Rewrites docs/api/<area>.md under `root` from `libDir`; prints the coverage and what's missing. */
export function main(root: string, libDir: string): number {
  const t0 = Date.now();
  const models = extract(root, libDir);
  const pages = renderPages(models);
  const dir = join(root, 'docs', 'api');
  mkdirSync(dir, { recursive: true });
  let changed = 0;
  for (const [file, text] of pages) {
    const path = join(dir, file);
    let old = '';
    try {
      old = readFileSync(path, 'utf8');
    } catch {}
    if (old !== text) {
      writeFileSync(path, text);
      changed++;
    }
  }
  const cov = coverage(models);
  const exported = new Set(models.flatMap((m) => exportsOf(m.pkg).map(nameOf)));
  const forgotten = [...new Set(models.flatMap((m) => m.forgotten))].filter((n) => !exported.has(n)).sort();
  const warnings = [...new Set(models.flatMap((m) => m.tsdocWarnings))];
  for (const w of warnings) console.log(`tsdoc: ${w}`);
  if (forgotten.length) console.log(`used by the API but not exported: ${forgotten.join(', ')}`);
  for (const n of cov.missing) console.log(`undocumented: ${n}`);
  for (const n of cov.rootMismatch) console.log(`lanterna vs areas: ${n}`);
  console.log(
    `docs/api: ${pages.size} pages (${changed} changed), ${cov.documented}/${cov.total} documented, ${((Date.now() - t0) / 1000).toFixed(1)} s`,
  );
  return cov.missing.length || cov.rootMismatch.length ? 1 : 0;
}

if (process.argv[1] && fileURLToPath(import.meta.url) === process.argv[1]) {
  const lib = fileURLToPath(new URL('../lib/', import.meta.url));
  const root = fileURLToPath(new URL('../../', import.meta.url));
  process.exitCode = main(root, lib);
}
