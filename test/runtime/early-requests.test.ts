import { afterEach, expect, it } from 'vitest';
import { createKernel, invoke, serve, type Kernel } from 'spear-comm';
import { until } from '../support.js';

let kernel: Kernel | undefined;
afterEach(async () => kernel?.close());

// A host may invoke as soon as its side of the handshake is done, before the instance's
// connect() has even returned; those requests must reach serve() once it is called.
it('answers requests that arrived before serve() was called', async () => {
  kernel = await createKernel();
  const listener = await kernel.listen('memory://early', { secret: 's' });
  const hostSide = new Promise<import('spear-comm').CommunicationChannel>((resolve) => listener.on('channel', resolve));
  const instance = await kernel.connect(listener.url, { token: 's' });
  const host = await hostSide;
  const answers = [invoke(host, 'echo', Buffer.from('one')), invoke(host, 'echo', Buffer.from('two'))];
  await until(() => instance.stats().messagesIn === 2, 'both requests to arrive');
  serve(instance, { echo: (input) => input });
  expect((await Promise.all(answers)).map((b) => Buffer.from(b).toString())).toEqual(['one', 'two']);
});
