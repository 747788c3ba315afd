import { afterEach, describe, expect, it } from 'vitest';
import { CommunicationError, createKernel, invoke, type Kernel } from 'spear-comm';
import { failOnUnhandledRejections, until } from './support.js';

// serve() creates a handler's AbortSignal only when the handler reads ctx.signal; these pin down
// that the lazily created signal behaves as an eager one would.
failOnUnhandledRejections();

const kernels: Kernel[] = [];
afterEach(async () => {
  await Promise.all(kernels.splice(0).map((k) => k.close()));
});

describe('a handler signal read late', () => {
  it('is already aborted, with the close reason, when first read after the channel closed', async () => {
    const kernel = await createKernel();
    kernels.push(kernel);
    let release!: () => void;
    const gate = new Promise<void>((resolve) => {
      release = resolve;
    });
    let observed: { aborted: boolean; reason: unknown } | undefined;
    let serverClosed = false;
    const listener = await kernel.listen('memory://late-signal', {
      onChannel: (channel) => channel.on('close', () => void (serverClosed = true)),
      handlers: {
        slow: async (_input, ctx) => {
          await gate;
          observed = { aborted: ctx.signal.aborted, reason: ctx.signal.reason };
          return new Uint8Array();
        },
      },
    });
    const client = await kernel.connect(listener.url);
    const pending = invoke(client, 'slow', new Uint8Array()).catch((e: unknown) => e);
    await until(() => client.stats().messagesOut === 1, 'request sent');
    await client.close();
    await until(() => serverClosed, 'server side closed');
    release();
    await until(() => observed !== undefined, 'handler finished');
    expect(observed!.aborted).toBe(true);
    expect(CommunicationError.is(observed!.reason, 'ChannelClosed')).toBe(true);
    expect(CommunicationError.is(await pending, 'ChannelClosed')).toBe(true);
  });

  it('is not aborted while the channel stays open, and can be destructured', async () => {
    const kernel = await createKernel();
    kernels.push(kernel);
    const listener = await kernel.listen('memory://spread-signal', {
      handlers: {
        copy: (_input, { signal, functionName }) =>
          Buffer.from(String(signal instanceof AbortSignal && !signal.aborted && functionName === 'copy')),
      },
    });
    const client = await kernel.connect(listener.url);
    expect(Buffer.from(await invoke(client, 'copy', new Uint8Array())).toString()).toBe('true');
  });
});
