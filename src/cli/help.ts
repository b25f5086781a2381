/**
 * `lanesim <command> --help` (or -h) for every command: each flag on one
 * line. main.ts answers --help here, before dispatching, so a command's own
 * argument parser never sees it. test/cli/help.test.ts checks that every
 * flag a command's parser accepts is listed here and the other way round,
 * and that README.md's command table names only flags listed here.
 */

export interface FlagHelp {
  /** `--seed N` (the flag and its argument, as typed). */
  flag: string;
  text: string;
}

export interface CommandHelp {
  /** `conform`, `simulate`, ...; '' for lanesim with no command. */
  name: string;
  usage: string[];
  summary: string;
  flags: FlagHelp[];
  /** Lines after the flags (exit codes, examples). */
  notes?: string[];
}

const HELP_FLAG: FlagHelp = { flag: '-h, --help', text: 'this text' };

export const COMMANDS: readonly CommandHelp[] = [
  {
    name: '',
    usage: ['lanesim [command] [--help]'],
    summary: 'With no command: the nested-agent cascade (seed 004\'s incident), today\'s OpenClaw vs lanesim\'s fix (same as: lanesim simulate nested-agent-cascade).',
    flags: [HELP_FLAG],
    notes: [
      'commands:',
      '  simulate <scenario>   run a scenario on the simulator (lanesim simulate --help)',
      '  conform               the conformance suite (lanesim conform --help)',
      '  serve                 the reference gateway on ws://127.0.0.1 (lanesim serve --help)',
      '  fake-model            a scripted OpenAI-compatible model on 127.0.0.1 (lanesim fake-model --help)',
      '  help [command]        this text, or a command\'s',
      'benchmarks and the fuzz campaign are npm scripts: npm run bench -- <scheduler|sim|tools|load|all>, npm run fuzz.',
    ],
  },
  {
    name: 'simulate',
    usage: ['lanesim simulate <scenario> [flags]', 'lanesim simulate --list'],
    summary: 'Runs every variant of a scenario (or one) on the simulator and prints the comparison; exit 1 when a non-baseline variant breaks an invariant (the seed and the first violating events are printed), 2 on bad input.',
    flags: [
      { flag: '--list', text: 'the scenarios, with their default seeds and variants' },
      { flag: '--seed N', text: 'the seed (default: the scenario\'s own); same seed, same trace byte for byte' },
      { flag: '--variant NAME', text: 'run only this variant (default: all of the scenario\'s)' },
      { flag: '--engine fake-timers|discrete-event', text: 'the simulation engine (default: the scenario\'s)' },
      { flag: '--config FILE', text: 'a JSON5 config (lanesim\'s shape, SPEC CFG-1) merged over each variant\'s' },
      { flag: '--json FILE', text: 'write the results as JSON' },
      { flag: '--trace FILE', text: 'write the trace events as JSON lines' },
      { flag: '--html FILE', text: 'write the HTML report (lane timelines, silences, violations)' },
      HELP_FLAG,
    ],
  },
  {
    name: 'conform',
    usage: [
      'lanesim conform [target] [flags]',
      'lanesim conform --list [--verbose] | --coverage | --plan',
    ],
    summary: 'The conformance suite: every case of the catalogue against one gateway; exit 1 when a MUST case fails, 2 on bad input or a failed preflight.',
    flags: [
      { flag: '--adapter FILE', text: 'target: your gateway in process, through a GatewayAdapter module (src/conformance/adapter.ts)' },
      { flag: '--url ws://127.0.0.1:PORT[,...]', text: 'target: any gateway, black box over WebSocket (a preflight connects and authenticates first); several URLs: gateways alike (same configuration, each with its own fake model), so cases that use runs go side by side' },
      { flag: '--openclaw-queue [DIR]', text: 'target: OpenClaw\'s own command queue, in process (default DIR: the peer install of npm run peer:openclaw -- install)' },
      { flag: '--openclaw-tools [DIR]', text: 'target: OpenClaw\'s own validateToolCall, in process, over the tool schemas captured by npm run peer:openclaw -- capture-tools (tool.validate cases)' },
      { flag: '--token T', text: 'with --url: the gateway\'s token (sent as connect auth.token)' },
      { flag: '--model-control URL[,...]', text: 'with --url: the control URL of `lanesim fake-model`, which the gateway uses as its model (enables the cases that script the model); one per --url gateway, in the same order' },
      { flag: '--config FILE', text: 'with --url: the gateway\'s configuration (JSON5, lanesim\'s shape, SPEC CFG-1) and its `supports` declaration, so cases needing a queue mode or cap run' },
      { flag: '--time-scale X', text: 'with --url: gateway ms per real ms (the gateway\'s and the fake model\'s durations divided by X; default 1)' },
      { flag: '--only ID[,ID]', text: 'run only these cases (ids or prefixes: ws.handshake)' },
      { flag: '--skip ID[,ID]', text: 'skip these cases (ids or prefixes)' },
      { flag: '--seed N', text: 'the suite seed (each case derives its own from it; default 1)' },
      { flag: '--concurrency N', text: 'cases run at once over WebSocket on their own sessions: connection-level ones beside one case using runs per gateway, megabyte pushers alone (default 4, plus one per extra --url gateway; in process always 1)' },
      { flag: '--case-timeout MS', text: 'wall-clock limit per case (default 300000 over WebSocket, 60000 in process)' },
      { flag: '--verbose', text: 'every failed check of each case (rule, expected, observed) and its notes; with --list, each case\'s procedure' },
      { flag: '--json FILE', text: 'write the report as JSON (every failed check, the transcript of every failed case)' },
      { flag: '--junit FILE', text: 'write JUnit XML for CI (one <failure> per case holding all its failed checks)' },
      { flag: '--html FILE', text: 'write the HTML report: a row per case, each expanding to its checks and transcript' },
      { flag: '--transcript DIR', text: 'write per case what it sent and received, with times (frames both ways, model requests) as DIR/<case>.json' },
      { flag: '--explore N', text: 'after the catalogue, N random workloads from the explorer, judged by the invariant checkers (a failure is written as a replayable workload file)' },
      { flag: '--explore-only', text: 'with --explore: only the workloads, not the catalogue' },
      { flag: '--replay FILE|SEED[:PATH]', text: 'replay one explorer workload: a file it wrote, or a seed and its shrink path' },
      { flag: '--list', text: 'print the catalogue (ids, levels, rules, needs) and exit' },
      { flag: '--coverage', text: 'print every SPEC rule with the cases that check it (in process, over the wire or both) and exit' },
      { flag: '--plan', text: 'print the gateway configurations (--config files) that together cover the catalogue and exit' },
      HELP_FLAG,
    ],
    notes: [
      'no target flag: the reference gateway, in process.',
      'example: lanesim fake-model --port 4010 & lanesim serve --port 18789 --token T --model-url http://127.0.0.1:4010 &',
      '         lanesim conform --url ws://127.0.0.1:18789 --token T --model-control http://127.0.0.1:4010',
    ],
  },
  {
    name: 'serve',
    usage: ['lanesim serve [flags]'],
    summary: 'The reference gateway on ws://127.0.0.1:<port> (and its webchat page); stops gracefully on SIGINT/SIGTERM.',
    flags: [
      { flag: '--port N', text: 'TCP port on 127.0.0.1 (default 0: a free one; the URL is printed)' },
      { flag: '--token T', text: 'require this token in connect (auth.token)' },
      { flag: '--config FILE', text: 'the gateway\'s configuration (JSON5, lanesim\'s shape, SPEC CFG-1)' },
      { flag: '--model-url URL', text: 'an OpenAI-compatible model on 127.0.0.1 (e.g. lanesim fake-model); default: in-process modelled agents' },
      { flag: '--time-scale X', text: 'real-time factor of the in-process modelled agents (default 1)' },
      { flag: '--profile reference|openclaw-today', text: 'the gateway\'s behaviour: lanesim\'s reference (default) or today\'s OpenClaw' },
      { flag: '--seed N', text: 'seed of the in-process modelled agents (default 1)' },
      HELP_FLAG,
    ],
  },
  {
    name: 'fake-model',
    usage: ['lanesim fake-model [flags]'],
    summary: 'A scripted OpenAI-compatible model server on 127.0.0.1: timing, tool calls (malformed ones too), stalls and errors scripted and seeded; its control URL lets the conformance cases script it.',
    flags: [
      { flag: '--port N', text: 'TCP port on 127.0.0.1 (default 0: a free one; the URL is printed)' },
      { flag: '--script cascade|default|FILE', text: 'built-in script (cascade: seed 004\'s nested-agent cascade; default: short replies) or a JSON5 file' },
      { flag: '--seed N', text: 'seed of every duration and filler text (default 1)' },
      { flag: '--time-scale X', text: 'real-time factor: scripted durations are divided by X (default 1)' },
      { flag: '--log-max-entries N', text: 'request log entries kept, oldest dropped first' },
      { flag: '--log-max-bytes N', text: 'request log bytes kept, oldest dropped first' },
      HELP_FLAG,
    ],
  },
];

export function findCommand(name: string): CommandHelp | undefined {
  return COMMANDS.find((c) => c.name === name);
}

/** The long flag names a help text lists (`--seed N` -> `seed`). */
export function helpFlagNames(help: CommandHelp): string[] {
  return help.flags.flatMap((f) => [...f.flag.matchAll(/--([a-z][a-z0-9-]*)/g)].map((m) => m[1]!));
}

export function helpText(help: CommandHelp): string {
  const width = Math.max(...help.flags.map((f) => f.flag.length)) + 2;
  const lines = [
    ...help.usage.map((u, i) => `${i === 0 ? 'usage: ' : '       '}${u}`),
    '',
    help.summary,
    '',
    'flags:',
    ...help.flags.map((f) => `  ${f.flag.padEnd(width)}${f.text}`),
  ];
  if (help.notes !== undefined && help.notes.length > 0) lines.push('', ...help.notes);
  return lines.join('\n');
}

/** True when argv (a command's arguments) asks for help: -h or --help before any `--`. */
export function wantsHelp(argv: readonly string[]): boolean {
  for (const arg of argv) {
    if (arg === '--') return false;
    if (arg === '--help' || arg === '-h') return true;
  }
  return false;
}
