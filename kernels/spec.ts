// A kernel is declared once, as data: its name, compile-time facts, named storage bindings with
// their access, named uniforms with their types, workgroup size, how its grid is sized, and the
// WGSL of its body. From that one declaration `defineKernel` generates everything that used to be
// kept in sync by hand: the `@binding` lines, `struct U` (with WGSL's alignment padding), the
// uniform packer (values given by name: a missing or unknown name is an error), the pipeline key
// (name and facts only: sizes travel as uniforms, so one pipeline serves every size) and the
// dispatch grid. Templating is TypeScript only: facts reach the WGSL through `${…}`.

import { FLAT_GROUP, grid, type Kernel, type KernelBinding } from './program.ts';

export type Scalar = 'u32' | 'i32' | 'f32';
/** A scalar, or a fixed-length array of scalars (stored as vec4 rows, read with `u_<name>(k)`). */
export type UniformType = Scalar | `array<${Scalar}, ${number}>`;
export type UniformDecl = Readonly<Record<string, UniformType>>;
/** Values by name: numbers for scalars, arrays of the declared length for arrays. */
export type UniformValues<U extends UniformDecl> = { [K in keyof U]: U[K] extends Scalar ? number : readonly number[] };

/** Compile-time facts: every one is part of the pipeline key. */
export type Facts = Readonly<Record<string, string | number | boolean>>;

export interface BindingDecl {
  name: string;
  /** 'write' bindings are read_write storage (a kernel may also read them). */
  access: 'read' | 'write';
  /** Element type of the array (default f32). */
  type?: string;
  /**
   * May be absent at dispatch (passed as null): the engine binds a small zero buffer there.
   * The kernel must not read it then (a uniform says whether it is present).
   */
  optional?: boolean;
}

export type WorkgroupSize = number | readonly [number, number, number];

export interface KernelSpec<F extends Facts, U extends UniformDecl> {
  /** The kernel family's name, and the label of the op that dispatches it. */
  name: string;
  /** Storage bindings, in binding order (inputs, then outputs, by convention). */
  bindings: readonly BindingDecl[] | ((f: F) => readonly BindingDecl[]);
  uniforms: U;
  workgroupSize: WorkgroupSize | ((f: F) => WorkgroupSize);
  /**
   * The grid. `{ flat: 'n' }`: one thread per index below uniform `n`, spread over x and y by
   * grid(); main() then starts with `let i = …` (the flat index) and returns when i ≥ u.n.
   * A function: the grid from the facts and the uniform values.
   */
  dispatch: { flat: keyof U & string; index?: string } | ((u: UniformValues<U>, f: F) => readonly [number, number, number]);
  /** WGSL after the bindings and struct U: helper functions, workgroup variables. */
  decls?: (f: F) => string;
  /** The body of main(); builtins wid, nwg, lid, li and gid are in scope. */
  main: (f: F) => string;
}

export interface KernelFactory<F extends Facts, U extends UniformDecl> {
  readonly spec: KernelSpec<F, U>;
  /** A dispatchable kernel for these facts and uniform values. */
  (facts: F, uniforms: UniformValues<U>): Kernel;
  /** The generated WGSL (for tests and docs). */
  wgsl(facts: F): string;
  /** Byte layout of struct U: offset of each declared field. */
  layout: UniformLayout;
}

interface Field {
  name: string;
  type: Scalar;
  /** Array length (0: a scalar). */
  length: number;
  offset: number;
}

export interface UniformLayout {
  fields: readonly Field[];
  /** Size of struct U in bytes (a multiple of 16). */
  bytes: number;
  /** The WGSL struct and the array accessors. */
  wgsl: string;
  /** The declared names, for the packer's check. */
  names: ReadonlySet<string>;
}

const ARRAY = /^array<(u32|i32|f32), (\d+)>$/;

/** Lays struct U out by WGSL's rules: scalars 4-byte aligned, arrays as vec4 rows 16-byte aligned. */
export function uniformLayout(decl: UniformDecl): UniformLayout {
  const fields: Field[] = [];
  const lines: string[] = [];
  const accessors: string[] = [];
  let at = 0;
  let pad = 0;
  for (const [name, t] of Object.entries(decl)) {
    if (!/^[A-Za-z_]\w*$/.test(name)) throw new Error(`uniform name "${name}" is not a WGSL identifier`);
    const m = ARRAY.exec(t);
    if (m) {
      const type = m[1] as Scalar;
      const length = +m[2];
      if (length < 1) throw new Error(`uniform ${name}: array length must be ≥ 1`);
      while (at % 16) {
        lines.push(`_pad${pad++}: u32,`);
        at += 4;
      }
      fields.push({ name, type, length, offset: at });
      const rows = Math.ceil(length / 4);
      lines.push(`${name}: array<vec4<${type}>, ${rows}>,`);
      accessors.push(`fn u_${name}(k: u32) -> ${type} { return u.${name}[k / 4u][k % 4u]; }`);
      at += 16 * rows;
    } else if (t === 'u32' || t === 'i32' || t === 'f32') {
      fields.push({ name, type: t, length: 0, offset: at });
      lines.push(`${name}: ${t},`);
      at += 4;
    } else throw new Error(`uniform ${name}: unknown type "${t}"`);
  }
  const bytes = Math.max(16, Math.ceil(at / 16) * 16);
  const wgsl = fields.length ? `struct U {\n  ${lines.join('\n  ')}\n};\n${accessors.join('\n')}` : '';
  return { fields, bytes, wgsl, names: new Set(fields.map((f) => f.name)) };
}

/** Packs values by name into the layout; a missing, unknown or mis-sized value is an error naming it. */
export function packUniforms(kernel: string, layout: UniformLayout, values: Readonly<Record<string, number | readonly number[]>>): ArrayBuffer {
  const known = layout.names;
  for (const k of Object.keys(values)) if (!known.has(k)) throw new Error(`${kernel}: unknown uniform "${k}" (declared: ${[...known].join(', ') || 'none'})`);
  const view = new DataView(new ArrayBuffer(layout.bytes));
  for (const f of layout.fields) {
    const v = values[f.name];
    if (v === undefined) throw new Error(`${kernel}: uniform "${f.name}" has no value`);
    const put = (off: number, x: number) => {
      if (typeof x !== 'number' || Number.isNaN(x) && f.type !== 'f32') throw new Error(`${kernel}: uniform "${f.name}" must be a number, got ${String(x)}`);
      if (f.type === 'u32') {
        if (x < 0 || x > 0xffffffff || !Number.isInteger(x)) throw new Error(`${kernel}: uniform "${f.name}" = ${x} is not a u32`);
        view.setUint32(off, x, true);
      } else if (f.type === 'i32') {
        if (x < -0x80000000 || x > 0x7fffffff || !Number.isInteger(x)) throw new Error(`${kernel}: uniform "${f.name}" = ${x} is not an i32`);
        view.setInt32(off, x, true);
      } else view.setFloat32(off, x, true);
    };
    if (f.length === 0) {
      if (typeof v !== 'number') throw new Error(`${kernel}: uniform "${f.name}" is a ${f.type}, got an array`);
      put(f.offset, v);
    } else {
      if (typeof v === 'number' || v.length !== f.length)
        throw new Error(`${kernel}: uniform "${f.name}" needs ${f.length} values, got ${typeof v === 'number' ? 'a number' : v.length}`);
      // Element k sits in row k/4, lane k%4 (vec4 rows).
      for (let k = 0; k < f.length; k++) put(f.offset + 16 * (k >> 2) + 4 * (k & 3), v[k]);
    }
  }
  return view.buffer;
}

const BUILTINS =
  '@builtin(workgroup_id) wid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>, @builtin(local_invocation_id) lid: vec3<u32>, ' +
  '@builtin(local_invocation_index) li: u32, @builtin(global_invocation_id) gid: vec3<u32>';

function sizeOf3(w: WorkgroupSize): [number, number, number] {
  return typeof w === 'number' ? [w, 1, 1] : [w[0], w[1], w[2]];
}

function keyOf(name: string, facts: Facts): string {
  const parts = Object.entries(facts).map(([k, v]) => `${k}=${v}`);
  return parts.length ? `${name}:${parts.join(',')}` : name;
}

/** Declares a kernel; see KernelSpec. */
export function defineKernel<F extends Facts, U extends UniformDecl>(spec: KernelSpec<F, U>): KernelFactory<F, U> {
  const layout = uniformLayout(spec.uniforms);
  const hasUniforms = layout.fields.length > 0;
  const bindingsOf = (f: F) => (typeof spec.bindings === 'function' ? spec.bindings(f) : spec.bindings);
  const wgOf = (f: F) => sizeOf3(typeof spec.workgroupSize === 'function' ? spec.workgroupSize(f) : spec.workgroupSize);
  if (typeof spec.dispatch !== 'function' && !(spec.dispatch.flat in spec.uniforms))
    throw new Error(`${spec.name}: dispatch.flat names "${spec.dispatch.flat}", which is not a declared uniform`);

  const wgsl = (f: F): string => {
    const bs = bindingsOf(f);
    const names = new Set<string>();
    const lines = bs.map((b, i) => {
      if (names.has(b.name)) throw new Error(`${spec.name}: binding "${b.name}" declared twice`);
      names.add(b.name);
      return `@group(0) @binding(${i}) var<storage, ${b.access === 'read' ? 'read' : 'read_write'}> ${b.name}: array<${b.type ?? 'f32'}>;`;
    });
    if (hasUniforms) lines.push(`@group(0) @binding(${bs.length}) var<uniform> u: U;`);
    const [x, y, z] = wgOf(f);
    let prelude = '';
    if (typeof spec.dispatch !== 'function') {
      const idx = spec.dispatch.index ?? 'i';
      prelude = `let ${idx} = flat_group(wid, nwg) * ${x * y * z}u + li;\n  if (${idx} >= u.${spec.dispatch.flat}) { return; }\n  `;
    }
    return `// ${keyOf(spec.name, f)} (generated by kernels/spec.ts)
${layout.wgsl}
${FLAT_GROUP}
${lines.join('\n')}
${spec.decls?.(f) ?? ''}
@compute @workgroup_size(${x}, ${y}, ${z})
fn main(${BUILTINS}) {
  ${prelude}${spec.main(f)}
}
`;
  };

  // What depends on the facts alone is made once per key: factories run at every dispatch.
  const byKey = new Map<string, { bindings: KernelBinding[]; wgsl: () => string }>();
  const factory = ((facts: F, values: UniformValues<U>): Kernel => {
    const key = keyOf(spec.name, facts);
    let fixed = byKey.get(key);
    if (!fixed) {
      fixed = { bindings: bindingsOf(facts).map((b) => ({ name: b.name, access: b.access, optional: !!b.optional })), wgsl: () => wgsl(facts) };
      byKey.set(key, fixed);
    }
    const uniforms = hasUniforms ? packUniforms(spec.name, layout, values as Record<string, number | readonly number[]>) : undefined;
    let workgroups: [number, number, number];
    if (typeof spec.dispatch === 'function') {
      const w = spec.dispatch(values, facts);
      workgroups = [w[0], w[1], w[2]];
    } else {
      const [x, y, z] = wgOf(facts);
      workgroups = grid((values as Record<string, number>)[spec.dispatch.flat] / (x * y * z));
    }
    return { name: spec.name, key, wgsl: fixed.wgsl, bindings: fixed.bindings, uniforms, workgroups };
  }) as KernelFactory<F, U>;
  Object.defineProperty(factory, 'spec', { value: spec });
  factory.wgsl = wgsl;
  factory.layout = layout;
  return factory;
}
