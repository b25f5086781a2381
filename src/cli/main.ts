/**
 * lanesim's command line. With no arguments it runs the main job on the
 * embedded default: the nested-agent cascade (seed 004's incident) on the
 * reference gateway, in-process, on virtual time, baseline against the fix.
 */
import { conformCommand } from './conform.ts';
import { serveCommand } from './serve.ts';
import { simulateCommand } from './simulate.ts';
import { fakeModelCommand } from './fake-model.ts';
import { UsageError } from './errors.ts';

const USAGE = `usage: lanesim [command]
  (no command)          the nested-agent cascade: today's OpenClaw vs lanesim's fix (same as: simulate nested-agent-cascade)
  simulate <scenario>   run a scenario (--list names them)
  fake-model            a scripted OpenAI-compatible model server on 127.0.0.1 (--script cascade|default|file.json5, --time-scale X)
  conform               the conformance suite (--list; default target: the reference gateway in process)
  serve                 the reference gateway on ws://127.0.0.1 (--port, --token, --model-url, --time-scale)
  help                  this text`;

export async function main(argv: string[]): Promise<number> {
  const out = (line: string): void => void process.stdout.write(`${line}\n`);
  const [command, ...rest] = argv;
  switch (command) {
    case undefined:
      return simulateCommand(['nested-agent-cascade'], out);
    case 'simulate':
      return simulateCommand(rest, out);
    case 'fake-model':
      return fakeModelCommand(rest, out);
    case 'serve':
      return serveCommand(rest, out);
    case 'conform':
      return conformCommand(rest, out);
    case 'help':
    case '--help':
    case '-h':
      out(USAGE);
      return 0;
    default:
      throw new UsageError(`unknown command ${JSON.stringify(command)}\n${USAGE}`);
  }
}

export { UsageError };
