// `lanterna` CLI: `info` (text and --json), one-line errors (stacks only with --debug), and the
// bin shim's message when the build is missing.

import { spawnSync } from 'node:child_process';
import { copyFileSync, mkdirSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { test } from 'uvu';

const main = fileURLToPath(new URL('../cli/main.js', import.meta.url));

function lanterna(args: string[], env: Record<string, string> = {}) {
  const p = spawnSync(process.execPath, [main, ...args], { encoding: 'utf8', env: { ...process.env, ...env } });
  // (Dawn and the Vulkan loader add their own warnings on stderr.)
  return { status: p.status, stdout: p.stdout, stderr: p.stderr.split('\n').filter(Boolean) };
}

test('info --json describes the adapter, its driver and the limits in force', () => {
  const r = lanterna(['info', '--json']);
  if (r.status !== 0) throw new Error(`exit ${r.status}: ${r.stderr.join('\n')}`);
  const d = JSON.parse(r.stdout);
  for (const k of ['runtime', 'webgpu', 'vendor', 'architecture', 'device', 'description', 'driver', 'icdSource'])
    if (typeof d[k] !== 'string') throw new Error(`field ${k} missing: ${r.stdout}`);
  if (d.runtime !== 'node') throw new Error(`runtime ${d.runtime}`);
  if (!(d.limits.maxStorageBufferBindingSize > 0) || !(d.limits.maxComputeWorkgroupsPerDimension > 0)) throw new Error(`limits: ${JSON.stringify(d.limits)}`);
});

test('info prints a readable description', () => {
  const r = lanterna(['info']);
  if (r.status !== 0) throw new Error(`exit ${r.status}: ${r.stderr.join('\n')}`);
  for (const s of ['vendor', 'driver', 'ICD file', 'limits in force', 'maxStorageBufferBindingSize'])
    if (!r.stdout.includes(s)) throw new Error(`no "${s}" in:\n${r.stdout}`);
});

test('an error is one line naming the problem; --debug adds the stack', () => {
  const env = { VK_ICD_FILENAMES: '/nonexistent/icd.json' };
  const r = lanterna(['info'], env);
  if (r.status !== 1) throw new Error(`exit ${r.status}`);
  const ours = r.stderr.filter((l) => l.startsWith('lanterna:'));
  if (ours.length !== 1 || !ours[0].startsWith('lanterna: No WebGPU adapter') || r.stderr.some((l) => /at .*\.js:\d+/.test(l)))
    throw new Error(`stderr:\n${r.stderr.join('\n')}`);
  const d = lanterna(['--debug', 'info'], env);
  if (d.status !== 1 || !d.stderr.some((l) => /at .*\.js:\d+/.test(l))) throw new Error(`no stack with --debug:\n${d.stderr.join('\n')}`);
});

test('an unknown command fails with a hint', () => {
  const r = lanterna(['no-such-command']);
  if (r.status === 0 || !r.stderr.join('\n').includes('unknown command')) throw new Error(`exit ${r.status}: ${r.stderr.join('\n')}`);
});

test('bin/lanterna.js says to build when dist/ is missing', () => {
  const dir = mkdtempSync(join(tmpdir(), 'lanterna-bin-'));
  try {
    mkdirSync(join(dir, 'bin'));
    copyFileSync(fileURLToPath(new URL('../../bin/lanterna.js', import.meta.url)), join(dir, 'bin/lanterna.js'));
    const p = spawnSync(process.execPath, [join(dir, 'bin/lanterna.js'), 'info'], { encoding: 'utf8' });
    if (p.status !== 1 || !p.stderr.includes('npm run build')) throw new Error(`exit ${p.status}: ${p.stderr}`);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

test.run();
