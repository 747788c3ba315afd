// 200 instances at once, each with its own listener, address and secret (as the runtime gives
// every instance its own), each doing request/response, over unix and over tcp.
import { existsSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { generateSecret, invoke, type CommunicationChannel, type Listener } from 'spear-comm';
import { failOnUnhandledRejections } from '../support.js';
import { waitFor } from '../support/streams.js';
import { testBed } from '../support/test-bed.js';

const bed = testBed();
failOnUnhandledRejections();

const INSTANCES = 200;
const REQUESTS_EACH = 10;
const text = (bytes: Uint8Array) => Buffer.from(bytes).toString('utf8');

const urls: Record<string, () => string> = {
  tcp: () => 'tcp://127.0.0.1:0',
  unix: () => `unix://${bed.socketPath()}`,
};

describe.each(Object.keys(urls))('%s: 200 instances at once', (transport) => {
  it('serves every instance its own answers on its own channel, and closes cleanly', async () => {
    const instances = Array.from({ length: INSTANCES }, (_, i) => ({ id: `instance-${i}`, secret: generateSecret() }));
    const listeners: Listener[] = await Promise.all(
      instances.map(async ({ id, secret }) => {
        const listener = await bed.kernel.listen(urls[transport]!(), {
          validateToken: (token, request) => request.instanceId === id && token === secret,
          handlers: { whoami: (_input, ctx) => Buffer.from(`${id} served ${ctx.instanceId.instanceId}`), echo: (input) => input },
        });
        bed.defer(() => listener.close());
        return listener;
      }),
    );
    expect(new Set(listeners.map((l) => l.url)).size).toBe(INSTANCES);
    const channels: CommunicationChannel[] = await Promise.all(
      instances.map(({ id, secret }, i) => bed.kernel.connect(listeners[i]!.url, { instanceId: id, token: secret })),
    );
    bed.defer(() => Promise.all(channels.map((c) => c.close())));

    const served = await Promise.all(
      channels.map(async (channel, i) => {
        const id = instances[i]!.id;
        expect(text(await invoke(channel, 'whoami', new Uint8Array(0)))).toBe(`${id} served ${id}`);
        const inputs = Array.from({ length: REQUESTS_EACH }, (_, n) => Buffer.from(`${id}:${n}`));
        const outputs = await Promise.all(inputs.map((input) => invoke(channel, 'echo', input)));
        expect(outputs.map(text)).toEqual(inputs.map((b) => b.toString('utf8')));
        return 1 + REQUESTS_EACH;
      }),
    );
    expect(served.reduce((a, b) => a + b, 0)).toBe(INSTANCES * (1 + REQUESTS_EACH));
    for (const listener of listeners) expect(listener.connectionCount).toBe(1);
    // Isolation: each channel counted exactly its own traffic.
    for (const channel of channels) expect(channel.stats()).toMatchObject({ requests: 1 + REQUESTS_EACH, errors: 0, timeouts: 0 });

    // One instance's secret does not open another instance's listener.
    await expect(
      bed.kernel.connect(listeners[1]!.url, { instanceId: instances[1]!.id, token: instances[0]!.secret }),
    ).rejects.toMatchObject({ code: 'AuthFailed' });

    await Promise.all(channels.map((c) => c.close()));
    await waitFor(() => listeners.every((l) => l.connectionCount === 0), 'every listener left without connections');
    await Promise.all(listeners.map((l) => l.close()));
    if (transport === 'unix') for (const listener of listeners) expect(existsSync(new URL(listener.url).pathname)).toBe(false);
  });
});
