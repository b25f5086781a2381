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
import { findCommand, helpText, wantsHelp } from './help.ts';

const USAGE = helpText(findCommand('')!);

export async function main(argv: string[], out: (line: string) => void = (line) => void process.stdout.write(`${line}\n`)): Promise<number> {
  const [command, ...rest] = argv;
  // --help / -h for every command, answered here so no command's parser has to know it (help.ts).
  if (command === 'help') {
    const topic = rest[0] === undefined ? findCommand('') : findCommand(rest[0]);
    if (topic === undefined) throw new UsageError(`help: unknown command ${JSON.stringify(rest[0])}\n${USAGE}`);
    out(helpText(topic));
    return 0;
  }
  if (command === '--help' || command === '-h') {
    out(USAGE);
    return 0;
  }
  if (command !== undefined && wantsHelp(rest)) {
    const help = findCommand(command);
    if (help !== undefined) {
      out(helpText(help));
      return 0;
    }
  }
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
    default:
      throw new UsageError(`unknown command ${JSON.stringify(command)}\n${USAGE}`);
  }
}

export { UsageError };
