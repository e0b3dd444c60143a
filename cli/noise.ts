// What the GPU stack prints on stderr by itself, which the `lanterna` command hides unless asked
// (`--verbose`, `--debug`, LANTERNA_DEBUG=1 or VK_LOADER_DEBUG set; cli/launch.ts).
//
// Dawn (in the npm `webgpu` package), the Vulkan loader and Mesa write these lines from C/C++
// straight to file descriptor 2, so JavaScript in the same process cannot catch them: the
// command runs itself in a child process whose stderr goes through `NoiseFilter`. A program
// using Lanterna as a library gets them on its own stderr, as from any native module.
//
// Only whole lines matching one of NOISE are dropped; a line is held back only while it could
// still become one of them, so our own errors and a progress bar's partial lines pass at once.

/** A kind of line hidden by default, with where it comes from. */
export interface NoisePattern {
  /** Matches the whole line (no newline). */
  re: RegExp;
  /** The literal starts of matching lines: a partial line that cannot reach one passes at once. */
  heads: readonly string[];
  /** Who prints it and when. */
  source: string;
  /** Printed on every run, whatever happens (not worth a hint after a failure). */
  routine: boolean;
}

/** The known noise, one entry per kind of line. */
export const NOISE: readonly NoisePattern[] = [
  {
    re: /^Warning: max\w+ artificially reduced from \d+ to \d+/,
    heads: ['Warning: max'],
    source: 'Dawn, at every device creation on lavapipe: a limit lowered to fit its dynamic offsets',
    routine: true,
  },
  {
    re: /^Warning: (?:vk[A-Z]\w*|loader_\w+)\b/,
    heads: ['Warning: vk', 'Warning: loader_'],
    source: "Dawn relaying a failed Vulkan call (vkCreateInstance, vkEnumeratePhysicalDevices, the loader's JSON files) while it looks for an adapter",
    routine: false,
  },
  {
    re: /^ {4}at \w+ \(.*\.(?:cpp|cc|h|mm):\d+\)$/,
    heads: ['    at '],
    source: "Dawn's C++ source location under such a warning",
    routine: false,
  },
  {
    re: /^(?:Error|Warning|Info|Perf|Debug): Loader Message: /,
    heads: ['Error: Loader', 'Warning: Loader', 'Info: Loader', 'Perf: Loader', 'Debug: Loader'],
    source: "the Vulkan loader's messages relayed by Dawn (e.g. 'Failed to detect any valid GPUs' for an ICD without its GPU)",
    routine: false,
  },
  {
    re: /^(?:ERROR|WARNING|INFO|PERF|DEBUG|LAYER|DRIVER): +(?:\[Loader Message\] |vk\w+: |loader_\w+: )/,
    heads: ['ERROR: ', 'WARNING: ', 'INFO: ', 'PERF: ', 'DEBUG: ', 'LAYER: ', 'DRIVER: '],
    source: 'the Vulkan loader itself (libvulkan1), about ICD and implicit layer files',
    routine: false,
  },
  {
    re: /^WARNING: \w+ is not a conformant [Vv]ulkan implementation/,
    heads: ['WARNING: '],
    source: 'Mesa: lavapipe (and other drivers) before they are certified',
    routine: true,
  },
  {
    re: /^MESA(?:-LOADER)?: /,
    heads: ['MESA: ', 'MESA-LOADER: '],
    source: "Mesa's loader and driver diagnostics",
    routine: false,
  },
];

/** True for a line (without its newline) that one of NOISE matches. */
export function isNoise(line: string): boolean {
  const l = line.endsWith('\r') ? line.slice(0, -1) : line;
  return NOISE.some((p) => p.re.test(l));
}

/** True for a noise line printed on every run (Dawn's lowered limits, Mesa's conformance note). */
export function isRoutineNoise(line: string): boolean {
  const l = line.endsWith('\r') ? line.slice(0, -1) : line;
  return NOISE.some((p) => p.routine && p.re.test(l));
}

/** True while `partial` (the start of a line) could still become a noise line. */
export function couldBeNoise(partial: string): boolean {
  return NOISE.some((p) => p.heads.some((h) => (partial.length < h.length ? h.startsWith(partial) : partial.startsWith(h))));
}

/**
 * Filters a byte stream line by line: `push` returns what can be shown now, `end` the rest.
 * Noise lines are dropped, and so is an empty line right after one (Dawn ends each warning with
 * one). Counts what it hid, by the line, for a hint after a failure.
 */
export class NoiseFilter {
  private held = '';
  private midLine = false; // part of the current line has already been shown
  private afterNoise = false;
  private readonly decoder = new TextDecoder();
  /** The lines hidden so far. */
  readonly hidden: string[] = [];

  /** Takes the next chunk; returns the text to show now (possibly ''). */
  push(chunk: Uint8Array | string): string {
    let text = this.held + (typeof chunk === 'string' ? chunk : this.decoder.decode(chunk, { stream: true }));
    this.held = '';
    let out = '';
    for (;;) {
      const nl = text.indexOf('\n');
      if (nl < 0) break;
      const line = text.slice(0, nl);
      text = text.slice(nl + 1);
      if (this.midLine) {
        out += line + '\n';
        this.midLine = false;
        this.afterNoise = false;
      } else if (isNoise(line) || (this.afterNoise && line.trim() === '')) {
        this.hidden.push(line);
        this.afterNoise = true;
      } else {
        out += line + '\n';
        this.afterNoise = false;
      }
    }
    if (text === '') return out;
    if (!this.midLine && couldBeNoise(text)) this.held = text;
    else {
      out += text;
      this.midLine = true;
      this.afterNoise = false;
    }
    return out;
  }

  /** Gives up holding a partial line (it has waited long enough): returns it, to show now. */
  flush(): string {
    const t = this.held;
    this.held = '';
    if (t) this.midLine = true;
    return t;
  }

  /** True while a partial line is held back. */
  get holding(): boolean {
    return this.held !== '';
  }

  /** The end of the stream: a held partial line, unless it is noise. */
  end(): string {
    const rest = this.held + this.decoder.decode();
    this.held = '';
    if (rest === '' || (!this.midLine && isNoise(rest))) {
      if (rest) this.hidden.push(rest);
      return '';
    }
    return rest;
  }
}
