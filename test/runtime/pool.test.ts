// InstancePool over in-process members (memory transport, real channels): each strategy's
// distribution, hash stability, health (leave on close / open circuit, back after a probe),
// retries of idempotent calls and never twice for the others.
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import {
  CommunicationError,
  ErrorCode,
  createKernel,
  type CommunicationChannel,
  type FunctionHandler,
  type Handlers,
  type Kernel,
} from 'spear-comm';
import { InstancePool, hashStrategy, latencyStrategy, type PoolMemberStats, type PoolStrategy } from 'spear-comm/runtime';
import { failOnUnhandledRejections } from '../support.js';

failOnUnhandledRejections();

let kernel: Kernel;
const pools: InstancePool[] = [];
beforeEach(async () => {
  kernel = await createKernel();
});
afterEach(async () => {
  for (const pool of pools.splice(0)) await pool.close();
  await kernel.close();
});

/** Always the first candidate: makes the order of attempts predictable. */
const first: PoolStrategy = { name: 'first', pick: (candidates) => candidates[0]! };

const text = (bytes: Uint8Array) => Buffer.from(bytes).toString('utf8');
const bytes = (s: string) => Buffer.from(s);

interface Member {
  id: string;
  /** The host's (pool's) side. */
  channel: CommunicationChannel;
  /** The instance's side: closing it is the instance going away. */
  server: () => CommunicationChannel;
  calls: number;
}

let sequence = 0;
/** An "instance": a memory listener serving `handlers` plus `whoami`, and the host's channel to it. */
async function member(id: string, handlers: Record<string, FunctionHandler> = {}): Promise<Member> {
  let server: CommunicationChannel | undefined;
  const m: Member = {
    id,
    channel: undefined as unknown as CommunicationChannel,
    server: () => server!,
    calls: 0,
  };
  const counted: Handlers = { whoami: () => bytes(id) };
  for (const [name, handler] of Object.entries(handlers)) {
    counted[name] = (input, ctx) => {
      m.calls++;
      return handler(input, ctx);
    };
  }
  counted.whoami = () => {
    m.calls++;
    return bytes(id);
  };
  const listener = await kernel.listen(`memory://pool-${++sequence}`, { handlers: counted, onChannel: (c) => (server = c) });
  m.channel = await kernel.connect(listener.url, { instanceId: id });
  return m;
}

function pool(members: Member[], strategy: InstancePool['strategy'] | 'round-robin' | 'least-pending' | 'latency' | 'hash', extra = {}) {
  const p = new InstancePool({ members: members.map((m) => ({ channel: m.channel, id: m.id })), strategy, ...extra });
  pools.push(p);
  return p;
}

/** Runs `count` calls with `inFlight` at a time. */
async function drive(count: number, inFlight: number, call: (i: number) => Promise<unknown>): Promise<void> {
  let next = 0;
  await Promise.all(
    Array.from({ length: inFlight }, async () => {
      while (next < count) await call(next++);
    }),
  );
}

describe('strategies', () => {
  it('round-robin gives every member the same share', async () => {
    const members = await Promise.all(['a', 'b', 'c', 'd'].map((id) => member(id)));
    const p = pool(members, 'round-robin');
    for (let i = 0; i < 400; i++) await p.invoke('whoami', bytes(''));
    expect(members.map((m) => m.calls)).toEqual([100, 100, 100, 100]);
    expect(p.stats().members.map((m) => m.requests)).toEqual([100, 100, 100, 100]);
  });

  it('least-pending sends less to a member that holds its calls longer', async () => {
    const slow = await member('slow', { work: () => new Promise((r) => setTimeout(() => r(bytes('')), 50)) });
    const fast = await Promise.all(['f1', 'f2'].map((id) => member(id, { work: () => bytes('') })));
    const p = pool([slow, ...fast], 'least-pending');
    await drive(300, 4, () => p.invoke('work', bytes('')));
    const fastCalls = fast[0]!.calls + fast[1]!.calls;
    expect(slow.calls + fastCalls).toBe(300);
    // Round-robin would give the slow member 100.
    expect(slow.calls).toBeLessThan(fastCalls / 4);
    expect(fast[0]!.calls).toBeGreaterThan(50);
    expect(fast[1]!.calls).toBeGreaterThan(50);
  });

  it('latency (power of two choices over the EWMA) favours the faster member', async () => {
    const slow = await member('slow', { work: () => new Promise((r) => setTimeout(() => r(bytes('')), 40)) });
    const fast = await member('fast', { work: () => bytes('') });
    let seed = 1;
    const random = () => ((seed = (seed * 16807) % 2147483647) - 1) / 2147483646;
    const p = pool([slow, fast], latencyStrategy({ random }));
    for (let i = 0; i < 100; i++) await p.invoke('work', bytes(''));
    expect(slow.calls + fast.calls).toBe(100);
    expect(slow.calls).toBeLessThan(10);
    const stats = p.stats().members;
    expect(stats.find((m) => m.id === 'slow')!.latencyEwmaMs).toBeGreaterThan(stats.find((m) => m.id === 'fast')!.latencyEwmaMs);
  });

  it('hash: the same key reaches the same member, keys spread, and a leaving member moves only its own keys', async () => {
    const members = await Promise.all(['m1', 'm2', 'm3', 'm4'].map((id) => member(id)));
    const p = pool(members, 'hash');
    const keys = Array.from({ length: 400 }, (_, i) => `user-${i}`);
    const owner = async () => {
      const map = new Map<string, string>();
      for (const key of keys) map.set(key, text(await p.invoke('whoami', bytes(''), { key })));
      return map;
    };
    const before = await owner();
    expect(await owner()).toEqual(before);
    const share = new Map<string, number>();
    for (const id of before.values()) share.set(id, (share.get(id) ?? 0) + 1);
    for (const id of ['m1', 'm2', 'm3', 'm4']) expect(share.get(id) ?? 0, `keys on ${id}`).toBeGreaterThan(50);

    // m2's instance goes away: its channel closes and it leaves the rotation.
    const left = new Promise<PoolMemberStats>((resolve) => p.on('leave', (m) => resolve(m)));
    await members[1]!.server().close();
    expect((await left).id).toBe('m2');
    const after = await owner();
    for (const key of keys) {
      if (before.get(key) !== 'm2') expect(after.get(key), key).toBe(before.get(key));
      else expect(after.get(key)).not.toBe('m2');
    }
    // A new member takes roughly a fifth of the keys, from all of them, and nothing else moves.
    const m5 = await member('m5');
    p.add({ channel: m5.channel, id: 'm5' });
    const withNew = await owner();
    const moved = keys.filter((k) => withNew.get(k) !== after.get(k));
    expect(moved.every((k) => withNew.get(k) === 'm5')).toBe(true);
    expect(moved.length).toBeGreaterThan(40);
    expect(moved.length).toBeLessThan(160);
  });

  it('hash without a key is the caller mistake InvalidArgument; an unknown strategy name too', async () => {
    const p = pool([await member('x')], hashStrategy());
    await expect(p.invoke('whoami', bytes(''))).rejects.toMatchObject({ code: ErrorCode.InvalidArgument });
    expect(() => new InstancePool({ strategy: 'fastest' as 'hash' })).toThrow(expect.objectContaining({ code: ErrorCode.InvalidArgument }));
  });

  it('a strategy is a plain replaceable object', async () => {
    const members = await Promise.all(['a', 'b'].map((id) => member(id)));
    const seen: number[] = [];
    const alwaysLast: PoolStrategy = {
      name: 'always-last',
      pick: (candidates) => {
        seen.push(candidates.length);
        return candidates[candidates.length - 1]!;
      },
    };
    const p = pool(members, alwaysLast);
    for (let i = 0; i < 5; i++) expect(text(await p.invoke('whoami', bytes('')))).toBe('b');
    expect(seen).toEqual([2, 2, 2, 2, 2]);
    expect(p.stats().strategy).toBe('always-last');
  });
});

describe('health and retries', () => {
  it('a non-idempotent call never runs twice: it fails with the member error; an idempotent one is retried elsewhere', async () => {
    let runs = 0;
    // The handler runs, then the instance goes away before answering.
    const dying = (m: () => Member) => ({
      work: () => {
        runs++;
        setImmediate(() => void m().server().close());
        return new Promise<Uint8Array>(() => {});
      },
    });
    const a: Member = await member(
      'a',
      dying(() => a),
    );
    const b: Member = await member(
      'b',
      dying(() => b),
    );
    const p = pool([a, b], first);
    const error = await p.invoke('work', bytes('')).catch((e: unknown) => e);
    expect(CommunicationError.is(error, ErrorCode.ChannelClosed)).toBe(true);
    expect(runs).toBe(1);
    expect(p.stats().members.map((m) => m.id)).toEqual(['b']);

    const c = await member('c', { work: () => bytes('done') });
    p.add({ channel: c.channel, id: 'c' });
    // Idempotent: b runs it and dies, the pool tries c.
    runs = 0;
    const order: string[] = [];
    p.on('retry', (_fn, from) => order.push(from));
    const out = await p.invoke('work', bytes(''), { idempotent: true, timeoutMs: 5_000 });
    expect(text(out)).toBe('done');
    expect(runs + c.calls).toBe(2);
    expect(order).toEqual(['b']);
    expect(p.stats().retries).toBe(1);
  });

  it('a retryable failure of an idempotent call is retried within the caller timeout (attemptTimeoutMs)', async () => {
    const silent = await member('silent', { work: () => new Promise<Uint8Array>(() => {}) });
    const ok = await member('ok', { work: () => bytes('ok') });
    const p = pool([silent, ok], 'round-robin', { breaker: false });
    // First call goes to `silent` (round-robin starts at the first member).
    const started = performance.now();
    const out = await p.invoke('work', bytes(''), { idempotent: true, timeoutMs: 10_000, attemptTimeoutMs: 100 });
    expect(text(out)).toBe('ok');
    expect(performance.now() - started).toBeLessThan(5_000);
    expect(silent.calls).toBe(1);
    // Not idempotent: the Timeout is the answer, nothing else is tried.
    const error = await p.invoke('work', bytes(''), { timeoutMs: 10_000, attemptTimeoutMs: 100 }).catch((e: unknown) => e);
    expect(CommunicationError.is(error, ErrorCode.Timeout)).toBe(true);
    expect(silent.calls).toBe(2);
    expect(ok.calls).toBe(1);
  });

  it('a remote error is not retried, even for an idempotent call', async () => {
    const a = await member('a', {
      fail: () => {
        throw new Error('bad input');
      },
    });
    const b = await member('b', { fail: () => bytes('') });
    const p = pool([a, b], 'round-robin');
    await expect(p.invoke('fail', bytes(''), { idempotent: true })).rejects.toMatchObject({ code: ErrorCode.RemoteError });
    expect(b.calls).toBe(0);
  });

  it('a member whose circuit opens leaves at once, gets no calls, and joins again after a successful probe', async () => {
    let hang = true;
    const flaky = await member('flaky', { work: () => (hang ? new Promise<Uint8Array>(() => {}) : bytes('flaky')) });
    const steady = await member('steady', { work: () => bytes('steady') });
    const p = pool([flaky, steady], 'round-robin', { breaker: { failureThreshold: 2 }, probe: { intervalMs: 50 } });
    const events: string[] = [];
    p.on('leave', (m, reason) => events.push(`leave ${m.id} ${reason.code}`));
    const joined = new Promise<void>((resolve) =>
      p.on('join', (m) => {
        events.push(`join ${m.id}`);
        resolve();
      }),
    );
    for (let i = 0; i < 4; i++) await p.invoke('work', bytes(''), { idempotent: true, attemptTimeoutMs: 50, timeoutMs: 5_000 });
    expect(events).toEqual(['leave flaky CircuitOpen']);
    const callsWhileOut = flaky.calls;
    // The probe is a HealthCheck, which the channel answers even while the handler hangs: make it healthy first
    // so that calls after the join succeed.
    hang = false;
    for (let i = 0; i < 20 && p.stats().up < 2; i++) {
      expect(text(await p.invoke('work', bytes('')))).toBe('steady');
    }
    await joined;
    expect(events).toEqual(['leave flaky CircuitOpen', 'join flaky']);
    expect(flaky.calls).toBe(callsWhileOut);
    const outs = new Set<string>();
    for (let i = 0; i < 4; i++) outs.add(text(await p.invoke('work', bytes(''))));
    expect(outs).toEqual(new Set(['flaky', 'steady']));
  });

  it('a member whose channel closes leaves at once and no call waits on it', async () => {
    const members = await Promise.all(['a', 'b', 'c'].map((id) => member(id, { work: () => bytes('') })));
    const p = pool(members, 'round-robin');
    const gone = new Promise<void>((resolve) => p.on('leave', () => resolve()));
    await members[0]!.server().close();
    await gone;
    const calls = members[0]!.calls;
    await drive(60, 6, () => p.invoke('work', bytes(''), { timeoutMs: 2_000 }));
    expect(members[0]!.calls).toBe(calls);
    expect(p.stats()).toMatchObject({ up: 2, failed: 0, retries: 0 });
    expect(p.stats().members.map((m) => m.id)).toEqual(['b', 'c']);
  });

  it('remove() takes a member out for good and leaves its channel open', async () => {
    const members = await Promise.all(['a', 'b'].map((id) => member(id)));
    const p = pool(members, 'round-robin');
    const removed: string[] = [];
    p.on('removed', (m, reason) => removed.push(`${m.id} ${m.state} ${reason.code}`));
    expect(await p.remove('a')).toBe(true);
    expect(await p.remove('a')).toBe(false);
    expect(removed).toEqual(['a closed ChannelClosed']);
    for (let i = 0; i < 4; i++) expect(text(await p.invoke('whoami', bytes('')))).toBe('b');
    expect(members[0]!.channel.isConnected()).toBe(true);
    expect(() => p.add({ channel: members[1]!.channel, id: 'b' })).toThrow(expect.objectContaining({ code: ErrorCode.InvalidArgument }));
  });

  it('with every member gone a call fails at once with ChannelClosed; a closed pool refuses calls', async () => {
    const a = await member('a');
    const p = pool([a], 'least-pending');
    const gone = new Promise<void>((resolve) => p.on('leave', () => resolve()));
    await a.server().close();
    await gone;
    await expect(p.invoke('whoami', bytes(''), { idempotent: true })).rejects.toMatchObject({ code: ErrorCode.ChannelClosed });
    await p.close();
    await expect(p.invoke('whoami', bytes(''))).rejects.toMatchObject({ code: ErrorCode.ChannelClosed });
    expect(() => new InstancePool({ timeoutMs: -1 })).toThrow(expect.objectContaining({ code: ErrorCode.InvalidArgument }));
  });
});
