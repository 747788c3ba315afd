// ChannelRouter: one instance reachable over memory and unix; rules as data pick a channel per
// message by size, priority and function, and by live latency.
import { describe, expect, it } from 'vitest';
import { ErrorCode, type CommunicationChannel, type Handlers } from 'spear-comm';
import { ChannelRouter, type RouteRule } from 'spear-comm/runtime';
import { failOnUnhandledRejections } from '../support.js';
import { testBed } from '../support/test-bed.js';

failOnUnhandledRejections();
const bed = testBed();
const text = (bytes: Uint8Array) => Buffer.from(bytes).toString('utf8');

/** The same functions served on a memory and a unix listener; each answer says which one ran it. */
async function twoWays(delayMs: { memory?: number; unix?: number } = {}): Promise<Record<'memory' | 'unix', CommunicationChannel>> {
  const served = (name: 'memory' | 'unix'): Handlers => ({
    where: async () => {
      if (delayMs[name]) await new Promise((r) => setTimeout(r, delayMs[name]));
      return Buffer.from(name);
    },
  });
  const memory = await bed.kernel.listen(`memory://router-${Math.random()}`, { handlers: served('memory') });
  const unix = await bed.kernel.listen(`unix://${bed.socketPath()}`, { handlers: served('unix') });
  bed.defer(() => Promise.all([memory.close(), unix.close()]));
  const channels = {
    memory: await bed.kernel.connect(memory.url),
    unix: await bed.kernel.connect(unix.url),
  };
  bed.defer(() => Promise.all([channels.memory.close(), channels.unix.close()]));
  return channels;
}

// Rules travel as JSON (a config file, an environment variable).
const RULES: RouteRule[] = JSON.parse(
  JSON.stringify([
    { name: 'bulk', when: { minBytes: 65_536 }, use: ['unix', 'memory'] },
    { name: 'urgent', when: { priority: 'high' }, use: ['memory', 'unix'], pick: 'latency' },
    { name: 'reports', when: { functions: ['report'] }, use: ['unix'] },
    { name: 'small', when: { maxBytes: 1_024 }, use: ['memory'] },
  ]),
) as RouteRule[];

describe('ChannelRouter', () => {
  it('picks a channel by size, priority and function, following the rules in order', async () => {
    const router = new ChannelRouter({ channels: await twoWays(), rules: RULES });
    expect(router.route({ bytes: 100 })).toMatchObject({ channel: 'memory', rule: 'small' });
    expect(router.route({ bytes: 100_000 })).toMatchObject({ channel: 'unix', rule: 'bulk' });
    expect(router.route({ bytes: 100_000, priority: 'high' })).toMatchObject({ rule: 'bulk' });
    expect(router.route({ bytes: 2_000, functionName: 'report' })).toMatchObject({ channel: 'unix', rule: 'reports' });
    // 2 KB, normal priority, another function: no rule, so the fallback (lowest latency of the connected ones).
    expect(router.route({ bytes: 2_000 }).rule).toBeUndefined();
    expect(text(await router.invoke('where', new Uint8Array(10)))).toBe('memory');
    expect(text(await router.invoke('where', new Uint8Array(70_000)))).toBe('unix');
    expect(router.stats().map((s) => [s.name, s.routed])).toEqual([
      ['memory', 1],
      ['unix', 1],
    ]);
  });

  it('a rule with pick: latency follows the live latency of its channels', async () => {
    const router = new ChannelRouter({ channels: await twoWays({ memory: 30 }), rules: RULES, ewmaAlpha: 1 });
    // Teach the router both latencies (the bulk rule sends large inputs over unix, small ones go to memory).
    await router.invoke('where', new Uint8Array(10));
    await router.invoke('where', new Uint8Array(70_000));
    const decision = router.route({ bytes: 2_000, priority: 'high' });
    expect(decision).toMatchObject({ channel: 'unix', rule: 'urgent' });
    expect(decision.reason).toMatch(/lowest latency/);
    expect(text(await router.invoke('where', new Uint8Array(2_000), { priority: 'high' }))).toBe('unix');
  });

  it('skips a channel that is not connected and falls back as the rules say', async () => {
    const channels = await twoWays();
    const router = new ChannelRouter({ channels, rules: RULES });
    await channels.memory.close();
    expect(router.route({ bytes: 100_000 })).toMatchObject({ channel: 'unix', rule: 'bulk' });
    // `small` names only memory: the rule is passed over and the fallback takes unix.
    expect(router.route({ bytes: 100 })).toMatchObject({ channel: 'unix', rule: undefined });
    expect(text(await router.invoke('where', new Uint8Array(100)))).toBe('unix');
    const strict = new ChannelRouter({ channels, rules: RULES, fallback: 'none' });
    expect(() => strict.route({ bytes: 100 })).toThrow(expect.objectContaining({ code: ErrorCode.ChannelClosed }));
  });

  it('refuses bad rules with InvalidArgument naming the rule', async () => {
    const channels = await twoWays();
    const bad = (rules: unknown[]) => () => new ChannelRouter({ channels, rules: rules as RouteRule[] });
    expect(bad([{ name: 'x', use: ['tcp'] }])).toThrow(/routing rule x: unknown channel "tcp"/);
    expect(bad([{ use: [] }])).toThrow(expect.objectContaining({ code: ErrorCode.InvalidArgument }));
    expect(bad([{ use: ['unix'], when: { priority: 'urgent' } }])).toThrow(/unknown priority/);
    expect(bad([{ use: ['unix'], when: { minBytes: -1 } }])).toThrow(/minBytes/);
    expect(bad([{ use: ['unix'], pick: 'random' }])).toThrow(/pick/);
    expect(() => new ChannelRouter({ channels: {} })).toThrow(expect.objectContaining({ code: ErrorCode.InvalidArgument }));
    const router = new ChannelRouter({ channels });
    expect(() => router.route({ bytes: 1, priority: 'urgent' as 'high' })).toThrow(
      expect.objectContaining({ code: ErrorCode.InvalidArgument }),
    );
  });
});
