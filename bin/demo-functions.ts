import { createHash } from 'node:crypto';
import type { Handlers } from 'spear-comm';

const text = (input: Uint8Array) => Buffer.from(input).toString('utf8');

/** The functions every demo instance serves, whatever its runtime type. */
export const demoFunctions: Handlers = {
  upper: (input) => Buffer.from(text(input).toUpperCase()),
  sha256: (input) => Buffer.from(createHash('sha256').update(input).digest('hex')),
  wordCount: (input) => Buffer.from(String(text(input).split(/\s+/).filter(Boolean).length)),
  whoami: (_input, ctx) => Buffer.from(JSON.stringify({ pid: process.pid, instanceId: ctx.instanceId.instanceId })),
};

/** What the host expects back, so the demo checks every answer rather than trusting it. */
export function expectedOutput(functionName: string, input: Uint8Array): string | undefined {
  switch (functionName) {
    case 'upper':
      return text(input).toUpperCase();
    case 'sha256':
      return createHash('sha256').update(input).digest('hex');
    case 'wordCount':
      return String(text(input).split(/\s+/).filter(Boolean).length);
    default:
      return undefined;
  }
}
