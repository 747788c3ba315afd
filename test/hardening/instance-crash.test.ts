// Requests in flight when an instance's process dies reject with the same message later calls get:
// how it exited, not a generic "connection closed".
import { describe, expect, it } from 'vitest';
import { ErrorCode } from 'spear-comm';
import { host, start } from '../runtime/process-support.js';

describe('an instance that dies with requests in flight', () => {
  it.each([
    [
      'exits with a code',
      (instance: Awaited<ReturnType<typeof start>>) => void instance.invoke('crash', new Uint8Array()).catch(() => {}),
      /Instance "doomed" exited with code 3 unexpectedly/,
    ],
    [
      'is killed with SIGKILL',
      (instance: Awaited<ReturnType<typeof start>>) => void instance.signal('SIGKILL'),
      /Instance "doomed" was killed by SIGKILL unexpectedly/,
    ],
  ])('%s: in-flight and later calls reject with the exit', async (_, kill, message) => {
    const { runtime } = await host();
    const doomed = await start(runtime, { instanceId: 'doomed' });
    const inFlight = [1, 2, 3].map(() => doomed.invoke('slow', Buffer.from('60000'), { timeoutMs: 60_000 }).catch((e: unknown) => e));
    // The requests reached the instance: a round trip after them has been answered.
    await doomed.invoke('upper', Buffer.from('x'));
    kill(doomed);
    for (const outcome of await Promise.all(inFlight))
      expect(outcome).toMatchObject({ code: ErrorCode.ChannelClosed, message: expect.stringMatching(message) });
    await expect(doomed.invoke('upper', Buffer.from('x'))).rejects.toMatchObject({
      code: ErrorCode.ChannelClosed,
      message: expect.stringMatching(message),
    });
  });
});
