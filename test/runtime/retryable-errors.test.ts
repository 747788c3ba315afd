// DESIGN §3: a caller's own mistake is never retried and never trips a breaker; only failures of
// the peer (retryable codes) are.
import { afterEach, describe, expect, it } from 'vitest';
import { CommunicationError, ErrorCode, createKernel, isRetryable, type Kernel } from 'spear-comm';
import { CircuitBreaker, connectWithReconnect, isPeerFailure } from 'spear-comm/runtime';
import { failOnUnhandledRejections } from '../support.js';

failOnUnhandledRejections();

let kernel: Kernel | undefined;
afterEach(async () => {
  await kernel?.close();
  kernel = undefined;
});

const error = (code: ErrorCode) => new CommunicationError(code, `a ${code}`);

describe('retryable errors', () => {
  it('only refused, timed out, closed and circuit-open are retryable; only the first three count against the peer', () => {
    const retryable = Object.values(ErrorCode).filter((code) => isRetryable(error(code)));
    expect(retryable.sort()).toEqual(['ChannelClosed', 'CircuitOpen', 'ConnectionRefused', 'Timeout']);
    expect(
      Object.values(ErrorCode)
        .filter((code) => isPeerFailure(error(code)))
        .sort(),
    ).toEqual(['ChannelClosed', 'ConnectionRefused', 'Timeout']);
    for (const code of Object.values(ErrorCode)) expect(error(code).retryable).toBe(retryable.includes(code));
    expect(isRetryable(new Error('plain'))).toBe(false);
  });

  it('the circuit breaker counts a peer that times out, not a caller that aborts or passes bad input', async () => {
    const breaker = new CircuitBreaker({ failureThreshold: 2, resetTimeoutMs: 60_000 });
    try {
      for (const code of [ErrorCode.InvalidArgument, ErrorCode.Aborted, ErrorCode.EncodeFailed, ErrorCode.RemoteError]) {
        for (let i = 0; i < 3; i++) await expect(breaker.execute(() => Promise.reject(error(code)))).rejects.toMatchObject({ code });
      }
      expect(breaker.state).toBe('closed');
      for (let i = 0; i < 2; i++) await expect(breaker.execute(() => Promise.reject(error(ErrorCode.Timeout)))).rejects.toThrow();
      expect(breaker.state).toBe('open');
    } finally {
      breaker.dispose();
    }
  });

  it('a reconnecting connect fails at once on an unknown codec, and retries a refused address', async () => {
    kernel = await createKernel();
    await kernel.listen('memory://host', { secret: 's' });
    const wrongCodec = connectWithReconnect(kernel, 'memory://host', {
      token: 's',
      codec: 'no-such-codec',
      // A retry would wait a minute: the test would time out.
      reconnect: { kind: 'fixed', intervalMs: 60_000, maxAttempts: 5 },
    });
    await expect(wrongCodec).rejects.toMatchObject({ code: ErrorCode.InvalidArgument });

    const nobody = connectWithReconnect(kernel, 'memory://nobody', {
      token: 's',
      reconnect: { kind: 'fixed', intervalMs: 1, maxAttempts: 3 },
    });
    await expect(nobody).rejects.toMatchObject({ code: ErrorCode.ConnectionRefused, message: expect.stringMatching(/after 3 attempts/) });
  });
});
