import { describe, expect, it } from 'vitest';
import { createKernel, invoke } from 'spear-comm';

describe('smoke', () => {
  it('invokes over memory', async () => {
    const kernel = await createKernel();
    const listener = await kernel.listen('memory://x', { secret: 's', handlers: { echo: (i) => i } });
    const channel = await kernel.connect(listener.url, { token: 's' });
    expect(await invoke(channel, 'echo', new Uint8Array([1, 2]))).toEqual(new Uint8Array([1, 2]));
    await kernel.close();
  });
});
