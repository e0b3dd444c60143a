// `lanterna` as a user meets it: --help lists every command with an example (examples that
// parse), each command's --help has Examples, --version is package.json's; exit codes 0 / 1 / 2;
// the GPU driver's own stderr lines hidden by bin/lanterna.js (cli/noise.ts, cli/launch.ts)
// while ours pass whole and at once, and shown with --verbose.
//
// bin/lanterna.js runs ../dist/cli/main.js: it is copied into a temporary folder whose dist/
// links to the build these tests come from (dist/ or dist-dev/).

import { spawnSync } from 'node:child_process';
import { copyFileSync, existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { PNG } from 'pngjs';
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { onlyHelp, wantsDriverMessages } from '../cli/launch.ts';
import { buildProgram, main } from '../cli/main.ts';
import { couldBeNoise, isNoise, isRoutineNoise, NOISE, NoiseFilter } from '../cli/noise.ts';
import { stderrTerminal } from '../cli/terminal.ts';

const BUILD = fileURLToPath(new URL('..', import.meta.url));
const REPO = fileURLToPath(new URL('../..', import.meta.url));
const TMP = mkdtempSync(join(tmpdir(), 'lanterna-cli-help-'));
mkdirSync(join(TMP, 'bin'));
copyFileSync(join(REPO, 'bin/lanterna.js'), join(TMP, 'bin/lanterna.js'));
symlinkSync(BUILD, join(TMP, 'dist'), 'dir');
const BIN = join(TMP, 'bin/lanterna.js');

function lanterna(args: string[], env: Record<string, string> = {}) {
  const p = spawnSync(process.execPath, [BIN, ...args], { encoding: 'utf8', env: { ...process.env, ...env } });
  return { status: p.status, stdout: p.stdout, stderr: p.stderr, lines: p.stderr.split('\n').filter(Boolean) };
}

/** main() in this process, its stdout and stderr captured. */
async function inProcess(args: string[]): Promise<{ code: number; out: string; err: string }> {
  let out = '', err = '';
  const [w1, w2] = [process.stdout.write, process.stderr.write];
  process.stdout.write = ((s: string | Uint8Array) => ((out += String(s)), true)) as typeof process.stdout.write;
  process.stderr.write = ((s: string | Uint8Array) => ((err += String(s)), true)) as typeof process.stderr.write;
  try {
    return { code: await main(['node', 'lanterna', ...args]), out, err };
  } finally {
    [process.stdout.write, process.stderr.write] = [w1, w2];
  }
}

// Lines as they come from Dawn, the Vulkan loader and Mesa (copied from real runs where we have them).
const DAWN_LIMITS = [
  'Warning: maxDynamicUniformBuffersPerPipelineLayout artificially reduced from 1000000 to 16 to fit dynamic offset allocation limit.',
  'Warning: maxDynamicStorageBuffersPerPipelineLayout artificially reduced from 1000000 to 16 to fit dynamic offset allocation limit.',
];
const DAWN_VULKAN_FAILURE = [
  'Warning: loader_get_json: Failed to open JSON file /nonexistent/icd.json',
  'Warning: vkCreateInstance: Found no drivers!',
  'Warning: vkCreateInstance failed with VK_ERROR_INCOMPATIBLE_DRIVER',
  '    at CheckVkSuccessImpl (/home/runner/work/node-webgpu/node-webgpu/third_party/dawn/src/dawn/native/vulkan/VulkanError.cpp:106)',
  '',
];
const OTHER_NOISE = [
  'Error: Loader Message: setup_loader_term_phys_devs:  Failed to detect any valid GPUs in the current config',
  'WARNING:          vkEnumerateInstanceLayerProperties: Unable to resolve symbol "" in implicit layer library "libVkLayer_MESA_device_select.so"',
  'ERROR:            [Loader Message] Code 0 : loader_scanned_icd_add: Could not get vkCreateInstance via vk_icdGetInstanceProcAddr',
  'WARNING: lavapipe is not a conformant vulkan implementation, testing use only.',
  'MESA-LOADER: failed to open swrast: /usr/lib/dri/swrast_dri.so: cannot open shared object file',
];
const OURS = [
  'lanterna: /tmp/t.h5: truncated: 423 696 bytes expected, 100 000 found',
  'Warning: this one is not a driver line',
  'ERROR: nor this',
  '    at main (file:///srv/lanterna/dist/cli/main.js:63:5)',
  '',
  'epoch 1/3 ░░░░ 0/11 | loss 2.3057',
];

test('the noise patterns: every driver line is noise, none of ours is; each pattern is used', () => {
  for (const l of [...DAWN_LIMITS, ...DAWN_VULKAN_FAILURE.filter(Boolean), ...OTHER_NOISE]) assert.ok(isNoise(l), `noise: ${l}`);
  for (const l of OURS) assert.not.ok(isNoise(l), `ours: ${l}`);
  for (const p of NOISE) assert.ok([...DAWN_LIMITS, ...DAWN_VULKAN_FAILURE, ...OTHER_NOISE].some((l) => p.re.test(l)), `no sample for ${p.re}`);
  for (const p of NOISE) for (const l of [...DAWN_LIMITS, ...DAWN_VULKAN_FAILURE, ...OTHER_NOISE]) if (p.re.test(l)) assert.ok(p.heads.some((h) => l.startsWith(h)), `${l} does not start with a head of ${p.re}`);
  assert.ok(isRoutineNoise(DAWN_LIMITS[0]));
  assert.not.ok(isRoutineNoise(DAWN_VULKAN_FAILURE[2]));
  assert.ok(couldBeNoise('Warn') && couldBeNoise('Warning: max') && !couldBeNoise('lanterna:') && !couldBeNoise('\x1b[1G'));
});

test('NoiseFilter: the same output however the stream is cut (whole, byte by byte, random chunks)', () => {
  const input = [DAWN_LIMITS[0], OURS[0], DAWN_LIMITS[1], ...DAWN_VULKAN_FAILURE, OURS[1], ...OTHER_NOISE, OURS[2], OURS[3], OURS[4], OURS[5], ''].join('\n');
  const want = [...OURS, ''].join('\n');
  const bytes = new TextEncoder().encode(input);
  const cuts: Uint8Array[][] = [[bytes], Array.from(bytes, (b) => Uint8Array.of(b))];
  let seed = 7;
  const next = () => (seed = (seed * 1103515245 + 12345) % 2 ** 31) / 2 ** 31; // (helpers.ts would start a GPU)
  for (let k = 0; k < 20; k++) {
    const chunks: Uint8Array[] = [];
    for (let at = 0; at < bytes.length; ) {
      const n = 1 + Math.floor(next() * 40);
      chunks.push(bytes.subarray(at, at + n));
      at += n;
    }
    cuts.push(chunks);
  }
  for (const chunks of cuts) {
    const f = new NoiseFilter();
    const got = chunks.map((c) => f.push(c)).join('') + f.end();
    assert.is(got, want, `${chunks.length} chunks`);
    assert.is(f.hidden.filter((l) => l !== '').length, 2 + 4 + OTHER_NOISE.length);
  }
});

test('NoiseFilter: our lines and a progress bar pass at once; a possible noise start waits, then shows', () => {
  const f = new NoiseFilter();
  assert.is(f.push(`${OURS[0]}\n`), `${OURS[0]}\n`, 'a whole line of ours, at once');
  const bar = '\x1b[?25l\x1b[1Gepoch 1/1 ░░░░ 0/11';
  assert.is(f.push(bar), bar, 'a bar without a newline, at once');
  assert.is(f.push('\x1b[1Gepoch 1/1 █░░░ 1/11'), '\x1b[1Gepoch 1/1 █░░░ 1/11', 'its redraw, at once');
  assert.is(f.push('\n'), '\n');
  assert.is(f.push('Warn'), '', 'could be a driver line: held');
  assert.ok(f.holding);
  assert.is(f.flush(), 'Warn', 'given up after a while (launch.ts: 50 ms)');
  assert.is(f.push('ing: max? no, ours\n'), 'ing: max? no, ours\n');
  assert.is(f.push('Warning: maxDynamicUniformBuffersPerPipelineLayout artificially'), '');
  assert.is(f.push(' reduced from 1000000 to 16 to fit dynamic offset allocation limit.\n'), '', 'completed: dropped');
  assert.is(f.end(), '');
});

test('launcher: who runs unfiltered; the child learns whether stderr is a terminal', () => {
  assert.ok(wantsDriverMessages(['info', '--verbose'], {}));
  assert.ok(wantsDriverMessages(['--debug', 'info'], {}));
  assert.ok(wantsDriverMessages(['info'], { LANTERNA_DEBUG: '1' }));
  assert.ok(wantsDriverMessages(['info'], { VK_LOADER_DEBUG: 'all' }));
  assert.not.ok(wantsDriverMessages(['info'], { LANTERNA_DEBUG: '0' }));
  assert.not.ok(wantsDriverMessages(['predict', '--', '--verbose'], {}));
  assert.ok(onlyHelp([]) && onlyHelp(['--help']) && onlyHelp(['predict', '-h']) && onlyHelp(['help', 'cam']) && onlyHelp(['-V']));
  assert.not.ok(onlyHelp(['info']));
  if (!process.stderr.isTTY) {
    assert.equal(stderrTerminal({ LANTERNA_STDERR: 'tty:132' }), { columns: 132 });
    assert.is(stderrTerminal({ LANTERNA_STDERR: 'pipe' }), null);
    assert.is(stderrTerminal({}), null);
  }
});

test('--help lists every command with an example, the driver messages and the exit codes; --version', () => {
  const names = buildProgram().commands.map((c) => c.name());
  assert.ok(names.length >= 6, names.join());
  const h = lanterna(['--help']);
  assert.is(h.status, 0, h.stderr);
  for (const n of names) {
    assert.ok(new RegExp(`^  ${n} `, 'm').test(h.stdout), `${n} in the command list`);
    assert.ok(new RegExp(`^  lanterna ${n}\\b`, 'm').test(h.stdout), `an example of ${n}`);
  }
  for (const s of ['Exit codes: 0', '1 runtime error', '2 usage error', '--verbose', 'LANTERNA_DEBUG=1']) assert.ok(h.stdout.includes(s), s);
  const v = lanterna(['--version']);
  assert.is(v.status, 0);
  assert.is(v.stdout.trim(), JSON.parse(readFileSync(join(REPO, 'package.json'), 'utf8')).version);
});

test("each command's --help has Examples of that command, and every example parses", async () => {
  const program = buildProgram();
  for (const cmd of program.commands) {
    const r = await inProcess([cmd.name(), '--help']);
    assert.is(r.code, 0);
    assert.ok(r.out.includes('\nExamples:\n'), `${cmd.name()} --help has no Examples`);
    const examples = [...r.out.matchAll(/^ {2}(lanterna .*)$/gm)].map((m) => m[1]);
    assert.ok(examples.length >= 2, `${cmd.name()}: ${examples.length} examples`);
    for (const e of examples) {
      assert.ok(e.startsWith(`lanterna ${cmd.name()} `) || e === `lanterna ${cmd.name()}`, e);
      // Parsed by a program whose actions do nothing: options and values must be the command's.
      const p = buildProgram();
      for (const c of p.commands) c.action(() => {});
      await p.parseAsync(['node', ...e.split(/\s+/)]);
    }
  }
  // (The same check does fail on an example that does not parse.)
  const p = buildProgram();
  for (const c of p.commands) c.action(() => {});
  p.configureOutput({ writeErr: () => {} });
  for (const c of p.commands) c.configureOutput({ writeErr: () => {} });
  await p.parseAsync(['node', 'lanterna', 'predict', '--image', 'x.png', '--bogus']).then(
    () => assert.unreachable('parsed'),
    (e) => assert.is((e as { code?: string }).code, 'commander.unknownOption'),
  );
});

test('exit code 2 for usage errors: unknown option or command, a required option missing, a bad value, options that clash', async () => {
  const out = join(TMP, 'never');
  const cases: [string[], RegExp][] = [
    [['info', '--bogus'], /^lanterna: unknown option '--bogus'/],
    [['no-such-command'], /^lanterna: unknown command 'no-such-command'/],
    [['predict'], /^lanterna: required option '--image <files\.\.\.>' not specified/],
    [['predict', '--image', 'x.png', '--top', '0'], /^lanterna: --top must be an integer ≥ 1, got '0'$/m],
    [['gradcam', '--image', 'x.png', '--alpha', '2', '--model', 'm.h5'], /^lanterna: --alpha must be a number in \[0, 1\], got '2'$/m],
    [['cam', '--colormap', 'rainbow'], /^lanterna: --colormap must be one of inferno, jet, viridis, gray; got 'rainbow'$/m],
    [['predict', '--model', 'a.h5', '--weights', 'b.h5', '--image', 'x.png'], /not both/],
    [['train', '--preset', 'cam9', '--out', out], /^lanterna: --preset must be one of cam1, cam2; got 'cam9'$/m],
  ];
  for (const [args, re] of cases) {
    const r = await inProcess(args);
    assert.is(r.code, 2, `${args.join(' ')}: exit ${r.code}: ${r.err}`);
    assert.match(r.err, re, args.join(' '));
  }
  assert.not.ok(existsSync(out), 'train with a bad preset wrote nothing');
  const r = lanterna(['info', '--bogus']); // through the launcher
  assert.is(r.status, 2, r.stderr);
});

test('exit code 1 for runtime errors: a missing file, no GPU adapter (the driver lines hidden, a hint instead)', () => {
  const img = join(TMP, 'img.png');
  const png = new PNG({ width: 4, height: 4 });
  png.data.fill(200);
  writeFileSync(img, PNG.sync.write(png));
  const missing = lanterna(['predict', '--model', join(TMP, 'no-such-model.h5'), '--image', join(TMP, 'no-such-image.png')]);
  assert.is(missing.status, 1, missing.stderr);
  assert.equal(missing.lines.length, 1, missing.stderr);
  assert.ok(missing.lines[0].startsWith('lanterna: ') && missing.lines[0].includes('no-such-image.png'), missing.stderr);
  const noGpu = lanterna(['info'], { VK_ICD_FILENAMES: join(TMP, 'no-such-icd.json') });
  assert.is(noGpu.status, 1, noGpu.stderr);
  assert.is(noGpu.lines.length, 2, noGpu.stderr);
  assert.ok(noGpu.lines[0].startsWith('lanterna: No WebGPU adapter'), noGpu.stderr);
  assert.match(noGpu.lines[1], /^lanterna: \(the GPU driver printed \d+ more lines? about this; --verbose shows them\)$/);
});

test("info: Dawn's warnings hidden; shown with --verbose (on lavapipe, where Dawn prints them)", () => {
  const r = lanterna(['info', '--json']);
  assert.is(r.status, 0, r.stderr);
  assert.not.ok(r.stderr.includes('artificially reduced'), r.stderr);
  assert.is(r.stderr, '', 'nothing else on stderr either');
  const d = JSON.parse(r.stdout);
  if (!/llvmpipe|lavapipe/i.test(`${d.device} ${d.description} ${d.driver}`)) {
    console.log(`(not lavapipe: ${d.description || d.device}; Dawn's limit warnings are lavapipe's, --verbose not checked)`);
    return;
  }
  const v = lanterna(['info', '--verbose']);
  assert.is(v.status, 0, v.stderr);
  assert.ok(v.lines.some((l) => /^Warning: maxDynamic\w+ artificially reduced/.test(l)), `--verbose: ${v.stderr}`);
});

test.after(() => rmSync(TMP, { recursive: true, force: true }));
test.run();
