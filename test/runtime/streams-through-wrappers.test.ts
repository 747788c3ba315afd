// Streams through the runtime's channel layers: a DurableChannel (ReconnectingChannel) and a ChannelWrapper (CircuitBreakerChannel).
import { createHash } from 'node:crypto';
import { afterEach, describe, expect, it } from 'vitest';
import { CommunicationError, ErrorCode, createKernel, invokeStream, streaming, type Kernel } from 'spear-comm';
import { connectWithReconnect, withCircuitBreaker } from 'spear-comm/runtime';
import { failOnUnhandledRejections } from '../support.js';
import { echoHandler, sha256Handler } from '../support/stream-handlers.js';

failOnUnhandledRejections();

const MiB = 1024 * 1024;
const pattern = (n: number) => Uint8Array.from({ length: n }, (_, i) => (i * 31 + (i >> 8)) & 0xff);
const sha = (bytes: Uint8Array) => createHash('sha256').update(bytes).digest('hex');

const handlers = {
  sha256: sha256Handler,
  echo: echoHandler,
  largest: streaming(async function* (chunks) {
    let largest = 0;
    for await (const chunk of chunks) largest = Math.max(largest, chunk.byteLength);
    yield new TextEncoder().encode(String(largest));
  }),
};

async function digestOf(stream: AsyncIterable<Uint8Array>): Promise<string> {
  let text = '';
  for await (const chunk of stream) text += new TextDecoder().decode(chunk);
  return text;
}

describe('streams through runtime wrappers (tcp)', () => {
  let kernel: Kernel;
  afterEach(async () => kernel?.close());

  it('carry a stream both ways through a ReconnectingChannel and a CircuitBreakerChannel around it', async () => {
    kernel = await createKernel();
    const listener = await kernel.listen('tcp://127.0.0.1:0', { handlers });
    const durable = await connectWithReconnect(kernel, listener.url, { reconnect: { kind: 'fixed', intervalMs: 5, maxAttempts: 3 } });
    const wrapped = withCircuitBreaker(durable);
    const data = pattern(3 * MiB + 17);
    for (const channel of [durable, wrapped]) {
      expect(await digestOf(invokeStream(channel, 'sha256', data))).toBe(sha(data));
      const back: Uint8Array[] = [];
      for await (const chunk of invokeStream(channel, 'echo', data)) back.push(chunk);
      expect(sha(Buffer.concat(back))).toBe(sha(data));
      // The wrappers pass on the session's frame limit (16 MiB by default), so chunks are 1 MiB, not the 64 KiB of an unknown limit.
      expect(await digestOf(invokeStream(channel, 'largest', data))).toBe(String(MiB));
    }
    await durable.close();
  });

  it('fail an open stream with ChannelClosed when the DurableChannel loses its session, and stream again on the next one', async () => {
    kernel = await createKernel();
    const listener = await kernel.listen('tcp://127.0.0.1:0', { handlers });
    const sessions: Array<{ close(): Promise<void> }> = [];
    listener.on('channel', (channel) => sessions.push(channel));
    const durable = await connectWithReconnect(kernel, listener.url, { reconnect: { kind: 'fixed', intervalMs: 5, maxAttempts: 100 } });
    let got = 0;
    let failure: unknown;
    try {
      // An endless source; the consumer drops the server's session once the echo flows.
      const endless = (async function* () {
        for (;;) yield pattern(64 * 1024);
      })();
      for await (const chunk of invokeStream(durable, 'echo', endless, { timeoutMs: 60_000 })) {
        got += chunk.byteLength;
        if (got >= MiB && sessions.length === 1) void sessions[0]!.close();
      }
    } catch (err) {
      failure = err;
    }
    expect(got).toBeGreaterThanOrEqual(MiB);
    expect(CommunicationError.is(failure, ErrorCode.ChannelClosed)).toBe(true);
    await durable.whenConnected({ timeoutMs: 10_000 });
    const data = pattern(MiB);
    expect(await digestOf(invokeStream(durable, 'sha256', data))).toBe(sha(data));
    await durable.close();
  });
});
