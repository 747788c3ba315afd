// Secrets never reach an error message, a log line or the wire; peer-supplied text in errors is
// quoted and bounded.
import { describe, expect, it } from 'vitest';
import { CommunicationError, ErrorCode, createKernel, generateSecret, invoke, type Logger } from 'spear-comm';
import { failOnUnhandledRejections } from '../support.js';
import { testBed } from '../support/test-bed.js';
import { authRequest, rawPeer, wire } from './raw-peer.js';

const bed = testBed();
failOnUnhandledRejections();

/** A logger that keeps every line, at every level, as the text a log file would hold. */
function recordingLogger(): { logger: Logger; text(): string } {
  const lines: string[] = [];
  const write = (level: string) => (message: string, fields?: Record<string, unknown>) =>
    void lines.push(`${level} ${message} ${JSON.stringify(fields ?? {})}`);
  return {
    logger: { debug: write('debug'), info: write('info'), warn: write('warn'), error: write('error') },
    text: () => lines.join('\n'),
  };
}

describe('secrets', () => {
  it('a wrong token: neither the expected secret nor the token given appears in any error, event, log line or answer', async () => {
    const log = recordingLogger();
    const kernel = await createKernel({ logger: log.logger });
    bed.defer(() => kernel.close());
    const secret = generateSecret();
    const given = `given-${generateSecret()}`;
    const listener = await kernel.listen('tcp://127.0.0.1:0', { secret, handlers: { echo: (input) => input } });
    const seen: string[] = [];
    listener.on('rejected', (error) => seen.push(error.message, error.cause instanceof Error ? error.cause.message : ''));

    const error = await kernel.connect(listener.url, { token: given, instanceId: 'worker-1' }).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(CommunicationError);
    expect(error).toMatchObject({ code: ErrorCode.AuthFailed, message: expect.stringContaining('invalid token for instance "worker-1"') });
    seen.push((error as Error).message);

    // What goes back on the wire to a peer with the wrong token.
    const peer = await rawPeer(listener.url);
    peer.socket.write(wire(JSON.stringify(authRequest({ token: given }))));
    const answer = Buffer.from(await peer.nextFrame()).toString('utf8');
    expect(JSON.parse(answer)).toMatchObject({ success: false });
    seen.push(answer);
    await peer.closed;

    // A session that succeeds logs nothing secret either.
    const channel = await kernel.connect(listener.url, { token: secret });
    await invoke(channel, 'echo', Uint8Array.of(1));
    await channel.close();

    expect(log.text()).toContain('session refused'); // the log is really recording
    for (const text of [...seen, log.text()]) {
      expect(text).not.toContain(secret);
      expect(text).not.toContain(given);
    }
  });

  it("per-instance secrets: one instance's secret does not open another's session, and errors name only the instance", async () => {
    const secrets = new Map([
      ['a', generateSecret()],
      ['b', generateSecret()],
    ]);
    const listener = await bed.kernel.listen('tcp://127.0.0.1:0', {
      validateToken: (token, request) => secrets.get(request.instanceId) === token,
      handlers: { who: (_input, ctx) => Buffer.from(ctx.instanceId.instanceId) },
    });
    bed.defer(() => listener.close());
    const a = await bed.kernel.connect(listener.url, { instanceId: 'a', token: secrets.get('a')! });
    expect(Buffer.from(await invoke(a, 'who', new Uint8Array(0))).toString()).toBe('a');
    await a.close();
    const error = await bed.kernel.connect(listener.url, { instanceId: 'b', token: secrets.get('a')! }).catch((e: unknown) => e);
    expect(error).toMatchObject({ code: ErrorCode.AuthFailed });
    for (const secret of secrets.values()) expect((error as Error).message).not.toContain(secret);
  });

  it('a hostile instance id is quoted and cut short in errors: no 60 KB messages, no forged log lines', async () => {
    const listener = await bed.kernel.listen('tcp://127.0.0.1:0', { secret: generateSecret() });
    bed.defer(() => listener.close());
    const rejected = new Promise<CommunicationError>((resolve) => listener.on('rejected', (error) => resolve(error)));
    const peer = await rawPeer(listener.url);
    const instanceId = `evil\n[spear-comm] error forged line ${'x'.repeat(60_000)}`; // under the 64 KiB pre-authentication frame limit
    peer.socket.write(wire(JSON.stringify(authRequest({ instanceId, token: 'wrong' }))));
    const answer = JSON.parse(Buffer.from(await peer.nextFrame()).toString('utf8')) as { errorMessage: string };
    const error = await rejected;
    for (const message of [error.message, answer.errorMessage]) {
      expect(message.length).toBeLessThan(300);
      expect(message).not.toContain('\n');
      expect(message).toContain('"evil\\n[spear-comm] error forged line xxx');
      expect(message).toContain(`(${instanceId.length} characters)`);
    }
    await peer.closed;
  });

  it('an unknown function name from the peer is bounded in the answer', async () => {
    const listener = await bed.kernel.listen('tcp://127.0.0.1:0', { handlers: { echo: (input) => input } });
    bed.defer(() => listener.close());
    const channel = await bed.kernel.connect(listener.url);
    bed.defer(() => channel.close());
    const error = await invoke(channel, 'f'.repeat(100_000), new Uint8Array(0)).catch((e: unknown) => e);
    expect(error).toMatchObject({ code: ErrorCode.RemoteError, remoteCode: 'UnknownFunction' });
    // The caller's own name heads the message; what the listener sent back is bounded.
    const remotePart = (error as Error).message.split('[UnknownFunction] ')[1]!;
    expect(remotePart.length).toBeLessThan(300);
    expect(remotePart).toContain('(100000 characters)');
  });
});
