// What the model-file readers need to keep every error on one line: escaping control characters
// (a corrupt file's names and V8's JSON messages carry them), JSON syntax errors located by line
// and column, and a check of a model config's outline ({class_name, config: {layers: [{class_name,
// config: {name}}]}}) and strings (no control characters: they end up in layer names and in every
// later message), so that what builds the model meets no malformed config.

import { LanternaError } from '../../engine/errors.ts';

const hex = (c: string, n: number) => c.charCodeAt(0).toString(16).padStart(n, '0');

/** `s` on one line: line breaks and other control characters written as escapes. */
export function oneLine(s: string): string {
  return s.replace(/[\x00-\x1f\x7f-\x9f\u2028\u2029]/g, (c) =>
    c === '\n' ? '\\n' : c === '\r' ? '\\r' : c === '\t' ? '\\t' : c.charCodeAt(0) < 0x100 ? `\\x${hex(c, 2)}` : `\\u${hex(c, 4)}`,
  );
}

/** True when `s` holds a control character (C0, DEL, C1, or a Unicode line separator). */
export const hasControl = (s: string) => /[\x00-\x1f\x7f-\x9f\u2028\u2029]/.test(s);

/** JSON.parse, failing as one line: `<where>: not valid JSON at line L, column C: <what>`. */
export function parseJsonText(text: string, where: string): unknown {
  try {
    return JSON.parse(text);
  } catch (e) {
    const found = jsonSyntaxError(text);
    if (!found) throw new LanternaError(`${where}: not valid JSON: ${oneLine((e as Error).message)}`);
    const before = text.slice(0, found.at);
    const line = before.split('\n').length;
    const column = found.at - before.lastIndexOf('\n');
    throw new LanternaError(`${where}: not valid JSON at line ${line}, column ${column} (character ${found.at}): ${found.what}`);
  }
}

const show = (c: string | undefined) =>
  c === undefined ? 'the end of the text' : hasControl(c) || c === '\ufeff' ? `U+${hex(c, 4).toUpperCase()}` : `'${c}'`;

/**
 * Where and why JSON.parse rejects `s` (RFC 8259), or null if this scanner finds no fault (then
 * the caller falls back to V8's message). Only run on text JSON.parse refused.
 */
export function jsonSyntaxError(s: string): { at: number; what: string } | null {
  let i = 0;
  class Fault {
    constructor(readonly what: string) {}
  }
  const fail = (what: string): never => {
    throw new Fault(what);
  };
  const ws = () => {
    while (s[i] === ' ' || s[i] === '\t' || s[i] === '\n' || s[i] === '\r') i++;
  };
  const string = () => {
    i++;
    for (;;) {
      if (i >= s.length) fail('the text ends inside a string');
      const c = s[i];
      if (c === '"') return void i++;
      if (c < ' ') fail(`${show(c)} inside a string (control characters must be escaped)`);
      if (c !== '\\') {
        i++;
        continue;
      }
      const e = s[i + 1];
      if (e !== undefined && '"\\/bfnrt'.includes(e)) i += 2;
      else if (e === 'u' && /^[0-9a-fA-F]{4}$/.test(s.slice(i + 2, i + 6))) i += 6;
      else fail(`a bad escape sequence '\\${e === undefined ? '' : oneLine(e)}' in a string`);
    }
  };
  const NUMBER = /-?(?:0|[1-9]\d*)(?:\.\d+)?(?:[eE][+-]?\d+)?/y;
  // Containers open on an explicit stack, so that deep nesting cannot overflow the call stack.
  const open: ('{' | '[')[] = [];
  /** One value; true when it opened a non-empty container, whose first element comes next. */
  const value = (): boolean => {
    ws();
    const c = s[i];
    if (c === '{' || c === '[') {
      i++;
      ws();
      if (s[i] === (c === '{' ? '}' : ']')) {
        i++;
        return false;
      }
      open.push(c);
      if (c === '{') key();
      return true;
    }
    if (c === '"') {
      string();
      return false;
    }
    if (c === '-' || (c >= '0' && c <= '9')) {
      NUMBER.lastIndex = i;
      if (!NUMBER.test(s)) fail('a malformed number');
      i = NUMBER.lastIndex;
      return false;
    }
    for (const lit of ['true', 'false', 'null']) {
      if (s.startsWith(lit, i)) {
        i += lit.length;
        return false;
      }
    }
    return fail(c === undefined ? 'the text ends where a value should be' : `unexpected ${show(c)} where a value should be`);
  };
  const key = () => {
    ws();
    if (s[i] !== '"') fail(`expected a property name in double quotes, found ${show(s[i])}`);
    string();
    ws();
    if (s[i] !== ':') fail(`expected ':' after a property name, found ${show(s[i])}`);
    i++;
  };
  try {
    let needValue = value();
    for (;;) {
      if (needValue) {
        needValue = value();
        continue;
      }
      if (open.length === 0) break;
      // After a value inside the innermost open container: ',' or its closing bracket.
      ws();
      const top = open[open.length - 1];
      const close = top === '{' ? '}' : ']';
      if (s[i] === ',') {
        i++;
        if (top === '{') key();
        needValue = true;
      } else if (s[i] === close) {
        open.pop();
        i++;
      } else fail(`expected ',' or '${close}' after ${top === '{' ? 'a property value' : 'an array element'}, found ${show(s[i])}`);
    }
    ws();
    if (i < s.length) fail(`unexpected ${show(s[i])} after the end of the JSON value`);
    return null;
  } catch (e) {
    if (e instanceof Fault) return { at: Math.min(i, s.length), what: e.what };
    return null;
  }
}

type Obj = Record<string, unknown>;
const isObj = (v: unknown): v is Obj => typeof v === 'object' && v !== null && !Array.isArray(v);

/**
 * Refuses, naming where, a model config that is not {class_name: string, config: {layers: [...]}}
 * (or Keras < 2.2.3's {config: [...]}), whose layers are not {class_name: string, config:
 * {name: string, …}} (nested models alike), or whose strings hold control characters.
 */
export function checkModelConfig(cfg: unknown, where: string): void {
  const bad = (at: string, what: string): never => {
    throw new LanternaError(`${where}: the model config is malformed: ${at} ${what}`);
  };
  const model = (m: unknown, at: string): void => {
    if (!isObj(m)) bad(at, 'is not an object');
    const mo = m as Obj;
    if (typeof mo.class_name !== 'string') bad(`${at}.class_name`, 'is not a string');
    const inner = mo.config;
    const list = Array.isArray(inner) ? inner : isObj(inner) ? inner.layers : bad(`${at}.config`, 'is neither an object nor a list');
    const listAt = Array.isArray(inner) ? `${at}.config` : `${at}.config.layers`;
    if (!Array.isArray(list)) bad(listAt, 'is not a list');
    (list as unknown[]).forEach((l, i) => {
      const la = `${listAt}[${i}]`;
      if (!isObj(l)) bad(la, 'is not an object');
      const lo = l as Obj;
      if (typeof lo.class_name !== 'string') bad(`${la}.class_name`, 'is not a string');
      if (lo.config !== undefined && !isObj(lo.config)) bad(`${la}.config`, 'is not an object');
      const c = lo.config as Obj | undefined;
      if (c?.name !== undefined && typeof c.name !== 'string') bad(`${la}.config.name`, 'is not a string');
      if (typeof (c?.name ?? lo.name) !== 'string') bad(la, 'has no name');
      if (c && 'layers' in c) model(lo, la);
    });
  };
  model(cfg, '$');
  checkConfigStrings(cfg, where);
}

/**
 * Refuses a model config whose strings (keys included) hold control characters, naming where:
 * Keras never writes them, and layer names flow into every later message. A Lambda layer's
 * config is skipped (its marshalled Python code is base64 with line breaks).
 */
export function checkConfigStrings(cfg: unknown, where: string): void {
  const walk = (v: unknown, at: string): void => {
    if (typeof v === 'string') {
      if (hasControl(v)) throw new LanternaError(`${where}: the model config holds a control character at ${at}: "${oneLine(v.slice(0, 60))}"`);
    } else if (Array.isArray(v)) v.forEach((x, i) => walk(x, `${at}[${i}]`));
    else if (typeof v === 'object' && v !== null) {
      const lambda = (v as Record<string, unknown>).class_name === 'Lambda';
      for (const [k, x] of Object.entries(v)) {
        if (hasControl(k)) throw new LanternaError(`${where}: the model config holds a control character in a key under ${at}: "${oneLine(k.slice(0, 60))}"`);
        if (!(lambda && k === 'config')) walk(x, `${at}.${k}`);
      }
    }
  };
  walk(cfg, '$');
}
