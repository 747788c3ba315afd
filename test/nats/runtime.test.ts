// The distributed runtime type over a real nats-server: a host and a child-process instance that
// meet on a NATS subject. Needs `npm run build` first (the fixture imports 'spear-comm/runtime' from dist/).
import { expect, it } from 'vitest';
import { createKernel, ErrorCode } from 'spear-comm';
import { CommunicationFactory, ProcessRuntime, connectFromEnv, readInstanceEnv } from 'spear-comm/runtime';
import { FIXTURE, cleanups, text } from '../runtime/process-support.js';
import { describeNats, natsServers } from './support.js';

const servers = natsServers();

async function host(natsUrl?: string) {
  const kernel = await createKernel();
  cleanups.push(() => kernel.close());
  const factory = new CommunicationFactory(kernel, natsUrl ? { natsUrl } : {});
  return { kernel, factory, runtime: new ProcessRuntime(factory) };
}

describeNats('the distributed runtime type over nats', () => {
  it('starts an instance that connects back over NATS (SPEAR_COMMUNICATION_TYPE=nats), with more servers in SPEAR_NATS_SERVERS', async () => {
    const [a, b] = await servers.cluster(2);
    const { runtime } = await host(a!.url);
    const instance = await runtime.spawn({
      runtimeType: 'distributed',
      args: [FIXTURE],
      startTimeoutMs: 15_000,
      channel: { extra: { servers: [b!.url] } },
    });
    expect(instance.channel.transport).toBe('nats');
    expect(instance.channel.url).toMatch(new RegExp(`^nats://127\\.0\\.0\\.1:${a!.port}/spear\\.instance\\.distributed-1-`));
    expect(instance.channel.environment()).toMatchObject({
      SPEAR_COMMUNICATION_TYPE: 'nats',
      SPEAR_NATS_SERVERS: b!.url,
      SPEAR_RUNTIME_TYPE: 'distributed',
    });
    expect(text(await instance.invoke('upper', Buffer.from('over nats')))).toBe('OVER NATS');
    expect(JSON.parse(text(await instance.invoke('spearEnv', new Uint8Array())))).toContain('SPEAR_NATS_SERVERS');
    const hang = instance.invoke('hang', new Uint8Array(0), { timeoutMs: 30_000 }).catch((err: unknown) => err);
    instance.signal('SIGKILL');
    const started = Date.now();
    expect(await hang).toMatchObject({ code: ErrorCode.ChannelClosed });
    expect(Date.now() - started).toBeLessThan(10_000);
  });

  it('falls back to grpc, saying why, when no NATS server is configured', async () => {
    const saved = process.env.SPEAR_NATS_URL;
    delete process.env.SPEAR_NATS_URL;
    try {
      const { factory } = await host();
      const channel = await factory.createChannel('distributed');
      expect(channel.transport).toBe('grpc');
      expect(channel.fallbacks[0]).toMatchObject({ transport: 'nats', reason: expect.stringMatching(/no NATS server is configured/) });
    } finally {
      if (saved !== undefined) process.env.SPEAR_NATS_URL = saved;
    }
  });

  it('connectFromEnv() reads a nats address and SPEAR_NATS_SERVERS, trying the listed servers when the first is down', async () => {
    const [a, b] = await servers.cluster(2);
    const { factory } = await host(a!.url);
    const channel = await factory.createChannel('distributed', { handlers: { hello: () => Buffer.from('from host') } });
    const env = { ...channel.environment(), SPEAR_NATS_SERVERS: `nats://127.0.0.1:1, ${b!.url}` };
    expect(readInstanceEnv(env)).toMatchObject({ transport: 'nats', servers: ['nats://127.0.0.1:1', b!.url] });
    // The address names server a; point it at a dead port so only the listed servers can work.
    const address = new URL(channel.url);
    address.port = '1';
    const deadline = Date.now() + 15_000;
    for (;;) {
      try {
        const instance = await connectFromEnv({ env: { ...env, SPEAR_COMMUNICATION_ADDRESS: address.href }, timeoutMs: 3000 });
        cleanups.push(() => instance.close());
        break;
      } catch (err) {
        // The cluster may still be forming: b does not know the listener's subject yet.
        if ((err as { code?: string }).code !== ErrorCode.ConnectionRefused || Date.now() > deadline) throw err;
        await new Promise((resolve) => setTimeout(resolve, 100));
      }
    }
    await channel.waitForConnection({ timeoutMs: 5000 });
    expect(channel.state).toBe('connected');
  });
});
