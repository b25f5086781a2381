/**
 * OpenClaw's own tool-call validator, loaded in process as its command
 * queue is (command-queue.ts), behind lanesim's ToolValidatorUnderTest.
 *
 * ## What is loaded
 * - `validateToolCall(tools, toolCall)` from `dist/validation-<hash>.mjs`
 *   (OpenClaw's `packages/llm-core/src/validation.ts`): finds the tool by
 *   name (`Tool "<name>" not found` otherwise), coerces the arguments against
 *   its JSON schema and checks them with TypeBox's compiled validator; it
 *   returns the (coerced) arguments or throws `Validation failed for tool
 *   "<name>":\n  - <path>: <message>\n\nReceived arguments:\n<JSON>`. It
 *   imports only `typebox/compile`, and loads under Node 20. The module is
 *   picked by its final `export { validateToolCall as n, ... }` line (the hash
 *   and the alias change per release).
 * - The tools' parameter schemas are those OpenClaw 2026.9.6's agent offers
 *   the model (the `tools` of its `POST /v1/chat/completions`), captured from
 *   a real gateway run by `npm run peer:openclaw -- capture-tools` into
 *   `<cache>/peers/openclaw-<version>/tool-schemas.json` (the modules that
 *   build the tools need Node >= 22, so they are not imported here).
 *
 * ## How a verdict is made (what the agent loop does, dist/agent-core-*.mjs)
 * The loop gives validation parsed arguments and turns a thrown error into an
 * error tool result whose text is the error's message (`isError: true`, for
 * the call's id). So: string arguments are JSON-parsed first (an unparsable
 * string is passed on as the string, which the schema then refuses); a
 * returned value is `ok`; anything thrown is `{ok: false, isError: true,
 * content: <message>, toolUseId: <call id>}`. The adapter itself never throws.
 * One difference from the loop, noted in reports: the loop answers an unknown
 * tool `Tool <name> not found` (no quotes) before validating;
 * `validateToolCall` says `Tool "<name>" not found`.
 */
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import type { ToolValidatorUnderTest } from '../../conformance/types.ts';
import { openclawPeerPaths } from './paths.ts';

/** A tool as `validateToolCall` needs it: name and JSON-schema parameters. */
export interface OpenClawToolSchema {
  name: string;
  parameters: Record<string, unknown>;
}

/** The captured schemas file (`capture-tools` writes it). */
export interface ToolSchemasFile {
  openclaw: string;
  capturedAt: string;
  /** How they were captured (the command). */
  source: string;
  tools: OpenClawToolSchema[];
}

export class OpenClawToolsUnavailable extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'OpenClawToolsUnavailable';
  }
}

/** Where `capture-tools` keeps the schemas of an installed version. */
export function toolSchemasPath(env: NodeJS.ProcessEnv = process.env): string {
  return join(openclawPeerPaths(env).openclawPrefix, 'tool-schemas.json');
}

/** `dist/validation-*.mjs` files whose export line exports validateToolCall, with its alias; sorted by name. */
export function findValidationModules(packageDir: string): { file: string; alias: string }[] {
  const dist = join(packageDir, 'dist');
  if (!existsSync(dist)) return [];
  const out: { file: string; alias: string }[] = [];
  for (const name of readdirSync(dist).filter((n) => /^validation-.*\.mjs$/.test(n)).sort()) {
    const file = join(dist, name);
    const text = readFileSync(file, 'utf8');
    const m = /export\s*\{([^}]*)\}\s*;?\s*$/.exec(text.trimEnd());
    const alias = m === null ? undefined : /\bvalidateToolCall\s+as\s+([A-Za-z_$][\w$]*)/.exec(m[1]!)?.[1];
    if (alias !== undefined) out.push({ file, alias });
  }
  return out;
}

/** The tools' schemas from a schemas file; refuses a file that is not one. */
export function readToolSchemas(file: string): ToolSchemasFile {
  if (!existsSync(file)) {
    throw new OpenClawToolsUnavailable(`no captured tool schemas at ${file}: run \`npm run peer:openclaw -- capture-tools\` (starts the gateway once, ~1 min)`);
  }
  let parsed: unknown;
  try {
    parsed = JSON.parse(readFileSync(file, 'utf8'));
  } catch (error) {
    throw new OpenClawToolsUnavailable(`${file} is not JSON: ${(error as Error).message}`);
  }
  const p = parsed as Partial<ToolSchemasFile>;
  if (!Array.isArray(p.tools) || p.tools.length === 0 || !p.tools.every((t) => typeof t?.name === 'string' && t.parameters !== null && typeof t.parameters === 'object')) {
    throw new OpenClawToolsUnavailable(`${file} holds no list of {name, parameters} tools`);
  }
  return p as ToolSchemasFile;
}

export interface OpenClawToolValidator extends ToolValidatorUnderTest {
  /** The validation module loaded. */
  readonly module: string;
  /** The tool names validated against (sorted). */
  readonly toolNames: readonly string[];
  readonly schemas: ToolSchemasFile;
}

type ValidateToolCall = (tools: readonly OpenClawToolSchema[], call: { id: string; name: string; arguments: unknown }) => unknown;

/** OpenClaw's validateToolCall over the captured tools, as a ToolValidatorUnderTest. */
export async function loadOpenClawToolValidator(options: { packageDir?: string; schemasFile?: string } = {}): Promise<OpenClawToolValidator> {
  const packageDir = options.packageDir ?? openclawPeerPaths().openclawDir;
  if (!existsSync(join(packageDir, 'package.json'))) {
    throw new OpenClawToolsUnavailable(`openclaw is not installed at ${packageDir}: run \`npm run peer:openclaw -- install\``);
  }
  const found = findValidationModules(packageDir);
  if (found.length === 0) throw new OpenClawToolsUnavailable(`no dist/validation-*.mjs exporting validateToolCall in ${packageDir}`);
  const { file, alias } = found[0]!;
  const schemas = readToolSchemas(options.schemasFile ?? toolSchemasPath());
  const mod = (await import(pathToFileURL(file).href)) as Record<string, unknown>;
  const validateToolCall = mod[alias] as ValidateToolCall | undefined;
  if (typeof validateToolCall !== 'function') throw new OpenClawToolsUnavailable(`${file}: export ${alias} (validateToolCall) is not a function`);
  // Fresh copies per call: validation may coerce the schema objects' caches, never the arguments' originals.
  const tools: readonly OpenClawToolSchema[] = schemas.tools.map((t) => ({ name: t.name, parameters: t.parameters }));
  return {
    module: file,
    toolNames: tools.map((t) => t.name).sort(),
    schemas,
    validate(call) {
      let args: unknown = call.arguments;
      if (typeof args === 'string') {
        try {
          args = JSON.parse(args);
        } catch {
          // The loop's stream parser would hand on what it could; the raw string is refused by the schema.
        }
      }
      try {
        validateToolCall(tools, { id: call.id, name: call.name, arguments: args });
        return { ok: true };
      } catch (error) {
        let content: string;
        try {
          content = error instanceof Error ? error.message : String(error);
        } catch {
          content = '[unprintable error]';
        }
        return { ok: false, isError: true, content, toolUseId: call.id };
      }
    },
  };
}
