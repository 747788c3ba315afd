import { afterEach, describe, expect, it } from 'vitest';
import { ErrorCode, createKernel, invoke, type CommunicationChannel, type Kernel } from 'spear-comm';
import { ConnectionMonitor, connectFromEnv, type MonitorEvent } from 'spear-comm/runtime';
import { failOnUnhandledRejections } from '../support.js';
import { factoryFor } from '../support/factory.js';

failOnUnhandledRejections();

let kernel: Kernel;
afterEach(async () => kernel?.close());

const summary = (e: MonitorEvent) =>
  e.type === 'message' ? `message:${e.message.type}` : e.type === 'error' ? `error:${(e.error as { code?: string }).code}` : e.type;

describe('ConnectionMonitor', () => {
  it('reports connected, authenticated, message and disconnected for an instance, in order', async () => {
    kernel = await createKernel();
    const events: MonitorEvent[] = [];
    factoryFor(kernel).monitor.on('event', (e) => events.push(e));
    const channel = await factoryFor(kernel).createChannelForInstance({ runtimeType: 'wasm', instanceId: 'm1' });
    const instance = await connectFromEnv({ env: channel.environment(), kernel, handlers: { echo: (i) => i } });
    await channel.waitForConnection();
    await invoke(channel, 'echo', Buffer.from('x'));
    const gone = new Promise((resolve) => channel.on('disconnected', resolve));
    await instance.close();
    await gone;
    expect(events.map(summary)).toEqual(['connected', 'authenticated', 'message:ExecutionResponse', 'disconnected']);
    expect(events.every((e) => e.type === 'message' || !('instanceId' in e) || e.instanceId?.instanceId === 'm1')).toBe(true);
    const disconnected = events[3]!;
    expect(disconnected.type === 'disconnected' && disconnected.reason?.code).toBe(ErrorCode.ChannelClosed);
    // History keeps everything but messages; counts include them.
    expect(factoryFor(kernel).monitor.recent().map(summary)).toEqual(['connected', 'authenticated', 'disconnected']);
    expect(factoryFor(kernel).monitor.counts()).toMatchObject({ connected: 1, authenticated: 1, message: 1, disconnected: 1, error: 0 });
  });

  it('reports a refused handshake as an error with its code, and a subscriber that throws breaks nothing', async () => {
    kernel = await createKernel();
    const monitor = new ConnectionMonitor({ history: 2 });
    const listener = await kernel.listen('memory://guarded', { secret: 'right' });
    monitor.watchListener(listener);
    monitor.on('error', () => {
      throw new Error('a broken subscriber');
    });
    const errors: MonitorEvent[] = [];
    monitor.on('error', (e) => errors.push(e));
    await expect(kernel.connect(listener.url, { token: 'wrong' })).rejects.toMatchObject({ code: ErrorCode.AuthFailed });
    expect(errors.map(summary)).toEqual(['error:AuthFailed']);
    expect(monitor.recent().map(summary)).toEqual(['connected', 'error:AuthFailed']);
    await kernel.connect(listener.url, { token: 'right' });
    expect(monitor.recent()).toHaveLength(2);
  });
});

describe('listener connection limit', () => {
  it('refuses connections beyond maxConnections and accepts again once one closes', async () => {
    kernel = await createKernel();
    const monitor = new ConnectionMonitor();
    const listener = await kernel.listen('memory://limited', { secret: 's', maxConnections: 2 });
    monitor.watchListener(listener);
    const first = await kernel.connect(listener.url, { token: 's' });
    await kernel.connect(listener.url, { token: 's' });
    await expect(kernel.connect(listener.url, { token: 's' })).rejects.toMatchObject({ code: ErrorCode.ConnectionRefused });
    expect(
      monitor
        .recent()
        .filter((e) => e.type === 'error')
        .map(summary),
    ).toEqual(['error:ConnectionRefused']);

    const serverSides = listener.channels();
    expect(serverSides).toHaveLength(2);
    const closed = new Promise((resolve) =>
      serverSides.find((c: CommunicationChannel) => c.sessionId === first.sessionId)!.on('close', resolve),
    );
    await first.close();
    await closed;
    expect((await kernel.connect(listener.url, { token: 's' })).isConnected()).toBe(true);
  });

  it('a newer session of the same instance replaces the older one (a reconnect may overlap the old connection)', async () => {
    kernel = await createKernel();
    const channel = await factoryFor(kernel).createChannelForInstance({ runtimeType: 'wasm', instanceId: 'limited' });
    const env = channel.environment();
    const a = await connectFromEnv({ env, kernel });
    const b = await connectFromEnv({ env, kernel });
    // The newer session replaces the older one for the host.
    await new Promise((resolve) => (a.isConnected() ? a.on('close', resolve) : resolve(undefined)));
    expect(channel.sessionId).toBe(b.sessionId);
    expect(channel.stats().sessions).toBe(2);
  });
});
