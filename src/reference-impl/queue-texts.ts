/**
 * The exact texts the message queue injects into prompts (QUEUE-9, QUEUE-15).
 * Kept apart so conformance cases and the reference share one definition.
 */

export const COLLECT_HEADER = '[Queued messages while agent was busy]';

/** QUEUE-9: `[Queued messages while agent was busy]`, then per message `---`, `Queued #i`, the text. */
export function collectPrompt(texts: readonly string[]): string {
  const parts = [COLLECT_HEADER];
  for (let i = 0; i < texts.length; i++) parts.push(`---\nQueued #${i + 1}\n${texts[i]}`);
  return parts.join('\n\n');
}

export const GIST_MAX_CHARS = 160;

/** QUEUE-15: one line, whitespace collapsed, at most 160 characters (159 and an ellipsis when cut). */
export function gistOf(text: string): string {
  const line = text.replace(/\s+/g, ' ').trim();
  if (line === '') return '(empty message)';
  return line.length <= GIST_MAX_CHARS ? line : `${line.slice(0, GIST_MAX_CHARS - 1)}…`;
}

/** QUEUE-15: the synthetic overflow turn. */
export function overflowSummary(gists: readonly string[]): string {
  const lines = [`[Queue overflow] Dropped ${gists.length} message(s) due to cap.`, 'Summary:'];
  for (const gist of gists) lines.push(`- ${gist}`);
  return lines.join('\n');
}

/** QUEUE-16: the summary goes ahead of the prompt of the next run that starts. */
export function withOverflowSummary(summary: string, prompt: string): string {
  return `${summary}\n\n${prompt}`;
}
