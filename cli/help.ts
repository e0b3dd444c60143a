// The parts of `lanterna --help` that commander does not write: examples (each command's, and
// the first of each in the overview), how driver messages are shown, and the exit codes.

/** One example of a command: the command line, and what it does. */
export interface Example {
  cmd: string;
  what: string;
}

/** The exit codes of `lanterna`. */
export const EXIT = { ok: 0, runtime: 1, usage: 2 } as const;

/** The exit codes, as `lanterna --help` states them. */
export const EXIT_CODES_HELP =
  'Exit codes: 0 success; 1 runtime error (a missing or corrupt file, no GPU adapter, a layer or\n' +
  'class the model does not have, …); 2 usage error (an unknown command or option, a required\n' +
  'option left out, an option value of the wrong form, options that do not go together).';

/** What is hidden from stderr and how to see it, as `lanterna --help` states it. */
export const DRIVER_MESSAGES_HELP =
  "Driver messages: the GPU stack's own warnings on stderr (Dawn, the Vulkan loader, Mesa; the\n" +
  'patterns are in cli/noise.ts) are hidden. --verbose or --debug shows them, and so does\n' +
  'LANTERNA_DEBUG=1, which also gives each GPU dispatch its own error scope (slow), and setting\n' +
  "VK_LOADER_DEBUG (the Vulkan loader's own switch).";

const exampleLines = (e: Example) => `  ${e.cmd}\n      ${e.what}`;

/** A command's Examples section. */
export function examplesHelp(examples: readonly Example[]): string {
  return '\nExamples:\n' + examples.map(exampleLines).join('\n');
}

/** The overview's footer: the first example of each command, then driver messages and exit codes. */
export function overviewHelp(commands: readonly (readonly Example[])[]): string {
  return [
    '',
    "Examples, one per command (models/ is the package's: run them in its folder; digit.png is any",
    'picture of a digit, JPEG or PNG):',
    ...commands.map((examples) => exampleLines(examples[0])),
    '',
    DRIVER_MESSAGES_HELP,
    '',
    EXIT_CODES_HELP,
    '',
    'Run `lanterna <command> --help` for its options and more examples.',
  ].join('\n');
}
