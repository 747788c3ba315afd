import { afterEach, describe, expect, it } from 'vitest';
import { parseBenchArgs } from './options.js';
import { Fifo } from './peer.js';
import { families, planGroups } from './plan.js';
import { FrameParser, framed } from './raw/frame-parser.js';
import { RawStreamPeer, startRawStreamServer, type RawStreamServer } from './raw/stream.js';
import { runSuite } from './runner.js';
import { formatSize, parseSize } from './units.js';
import { oneWayBatch, windowedRoundTrips, type Workload } from './workloads.js';

describe('options', () => {
  it('defaults to the full matrix, and --quick to one short round at two sizes', () => {
    const full = parseBenchArgs([]);
    expect(full).toMatchObject({
      sizes: [64, 1024, 65536, 1048576],
      modes: ['rr1', 'rr64', 'oneway', 'codec'],
      rounds: 3,
      quick: false,
      out: 'bench-results',
      pin: true,
    });
    expect(full.transports).toBeUndefined();
    const quick = parseBenchArgs(['--quick']);
    expect(quick).toMatchObject({ sizes: [64, 65536], rounds: 1, quick: true });
    expect(quick.caseSeconds).toBeLessThan(full.caseSeconds);
  });

  it('reads lists given with commas or repeated flags', () => {
    const o = parseBenchArgs([
      '--transports',
      'tcp,unix',
      '--transports',
      'grpc',
      '--codecs',
      'cbor',
      '--sizes',
      '1KiB,64',
      '--modes',
      'rr1',
      '--url',
      'quic=quic://127.0.0.1:0',
      '--out',
      'x',
      '--no-pin',
    ]);
    expect(o).toMatchObject({
      transports: ['tcp', 'unix', 'grpc'],
      codecs: ['cbor'],
      sizes: [64, 1024],
      modes: ['rr1'],
      urls: { quic: 'quic://127.0.0.1:0' },
      out: 'x',
      pin: false,
    });
  });

  it('rejects what it cannot use, saying what it expected', () => {
    expect(() => parseBenchArgs(['--modes', 'rr2'])).toThrow(/unknown mode "rr2"; use rr1, rr64, oneway, codec/);
    expect(() => parseBenchArgs(['--sizes', '12 parsecs'])).toThrow(/not a payload size/);
    expect(() => parseBenchArgs(['--rounds', '0'])).toThrow(/--rounds must be a positive integer/);
    expect(() => parseBenchArgs(['--url', 'nourl'])).toThrow(/--url wants name=URL/);
    expect(() => parseBenchArgs(['--bogus'])).toThrow();
  });

  it('parses and prints sizes', () => {
    expect(['64', '64B', '1k', '1KiB', '64KiB', '1MiB', '2mb'].map(parseSize)).toEqual([64, 64, 1024, 1024, 65536, 1048576, 2097152]);
    expect([64, 1024, 65536, 1048576, 1500].map(formatSize)).toEqual(['64 B', '1 KiB', '64 KiB', '1 MiB', '1500 B']);
  });
});

describe('plan', () => {
  it('puts each raw baseline in front of the transport it is compared with', () => {
    const groups = planGroups(
      families(['tcp', 'memory', 'quic'], ['memory', 'tcp', 'quic']),
      ['json', 'cbor'],
      [64],
      ['rr1', 'rr64', 'codec'],
    );
    const names = (mode: string, family: string) =>
      groups
        .find((g) => g.mode === mode && g.family.name === family)!
        .cases.map((c) => `${c.name}${c.baseline ? ` <- ${c.baseline}` : ''}${c.altBaseline ? ` / ${c.altBaseline}` : ''}`);
    expect(names('rr1', 'tcp')).toEqual(['raw tcp', 'tcp frames <- raw tcp', 'tcp/json <- raw tcp', 'tcp/cbor <- raw tcp']);
    expect(names('rr64', 'tcp')).toEqual([
      'raw tcp',
      'raw tcp (batched)',
      'tcp frames <- raw tcp / raw tcp (batched)',
      'tcp/json <- raw tcp / raw tcp (batched)',
      'tcp/cbor <- raw tcp / raw tcp (batched)',
    ]);
    expect(names('rr1', 'memory')).toEqual([
      'codec loop (json)',
      'memory/json <- codec loop (json)',
      'codec loop (cbor)',
      'memory/cbor <- codec loop (cbor)',
    ]);
    // A transport the bench has no raw counterpart for is compared with raw tcp.
    expect(names('rr1', 'quic')).toEqual(['raw tcp', 'quic frames <- raw tcp', 'quic/json <- raw tcp', 'quic/cbor <- raw tcp']);
    expect(names('codec', 'codec')).toEqual(['json', 'cbor <- json']);
  });

  it('measures memory, and a local-only transport with no raw baseline, in one process; unix still crosses processes', () => {
    const localOnly = (name: string) => ['memory', 'unix', 'shm'].includes(name);
    const all = families(['unix', 'memory', 'shm', 'quic'], ['unix', 'memory', 'shm', 'quic'], localOnly);
    expect(all.map((f) => `${f.name}:${f.inProcess ? 'in' : 'cross'}`)).toEqual(['unix:cross', 'memory:in', 'shm:in', 'quic:cross']);
    const groups = planGroups(all, ['cbor'], [64], ['rr1']);
    expect(groups.find((g) => g.family.name === 'shm')!.cases.map((c) => c.name)).toEqual(['codec loop (cbor)', 'shm/cbor']);
  });

  it('still measures the raw baseline of a transport that is not installed', () => {
    const groups = planGroups(families(['unix'], ['memory']), ['json'], [64], ['rr1']);
    expect(groups.map((g) => g.cases.map((c) => c.name))).toEqual([['raw unix']]);
  });
});

describe('raw framing', () => {
  it('reassembles frames split across chunks and splits coalesced ones', () => {
    const frames: string[] = [];
    const parser = new FrameParser((f) => frames.push(Buffer.from(f).toString()), 1 << 20);
    const stream = Buffer.concat([
      framed(Buffer.from('hello')),
      framed(Buffer.alloc(0)),
      framed(Buffer.from('x'.repeat(300))),
      framed(Buffer.from('end')),
    ]);
    for (const cut of [[1, 2, 3, 7, 9, 11, 200, 310], [stream.length]]) {
      let at = 0;
      for (const end of [...cut, stream.length]) {
        parser.push(stream.subarray(at, end));
        at = end;
      }
    }
    expect(frames).toEqual(['hello', '', 'x'.repeat(300), 'end', 'hello', '', 'x'.repeat(300), 'end']);
  });

  it('refuses a frame over the limit before buffering it', () => {
    const parser = new FrameParser(() => {}, 10);
    expect(() => parser.push(framed(Buffer.alloc(11)))).toThrow(/exceeds the 10-byte limit/);
  });

  it('settles waiters in order and fails a wrong-length echo', async () => {
    const fifo = new Fifo();
    const a = fifo.wait(3);
    const b = fifo.wait(5);
    fifo.settle(3);
    fifo.settle(4);
    await expect(a).resolves.toBeUndefined();
    await expect(b).rejects.toThrow(/echo of 5 bytes came back as 4 bytes/);
    expect(() => fifo.settle(1)).toThrow(/unexpected 1-byte frame/);
  });
});

describe('raw stream baseline over a real socket', () => {
  let server: RawStreamServer | undefined;
  const peers: RawStreamPeer[] = [];
  afterEach(async () => {
    await Promise.all(peers.splice(0).map((p) => p.close()));
    await server?.close();
    server = undefined;
  });

  it.each([false, true])('echoes with 64 in flight and syncs a sink (batched: %s)', async (batched) => {
    server = await startRawStreamServer({ host: '127.0.0.1', port: 0 });
    const address = server.address as { host: string; port: number };
    const echo = await RawStreamPeer.connect(address, 'echo', batched);
    const sink = await RawStreamPeer.connect(address, 'sink', batched);
    peers.push(echo, sink);
    const payload = new Uint8Array(70_000).fill(7);
    const windowed = windowedRoundTrips(echo, payload, 200, 64);
    await windowed.op();
    expect(windowed.latency!.summary().count).toBe(200);
    await oneWayBatch(sink, payload, 50).op();
  });
});

describe('benny runner', () => {
  it('keeps cases disarmed while benny probes them, then measures every case', async () => {
    // benny probes every case before the suite runs; armed, a probe of "b" would come before "a" finished.
    const calls: string[] = [];
    const a: Workload = { async: true, op: async () => void calls.push('a'), unitsPerOp: 10 };
    const b: Workload = { async: false, op: () => void calls.push('b'), unitsPerOp: 1 };
    const seen: string[] = [];
    const figures = await runSuite(
      'probe test',
      [
        { meta: { name: 'a', kind: 'raw' }, workload: a },
        { meta: { name: 'b', kind: 'codec' }, workload: b },
      ],
      {
        maxTime: 0.05,
        minSamples: 2,
        stallSeconds: 10,
        onCase: (meta) => seen.push(meta.name),
      },
    );
    expect(seen).toEqual(['a', 'b']);
    expect(calls.lastIndexOf('a')).toBeLessThan(calls.indexOf('b'));
    expect(figures).toHaveLength(2);
    expect(figures[0]!.samples).toBeGreaterThanOrEqual(2);
    // Rates are in units: an "a" operation stands for 10 of them.
    const aOps = calls.filter((c) => c === 'a').length;
    expect(figures[0]!.rate).toBeGreaterThan(0);
    expect(figures[0]!.bennyOps / 10).toBeGreaterThan(0);
    expect(aOps).toBeGreaterThan(2);
  });

  it('fails the run with the case name when an async case rejects, instead of hanging', async () => {
    let n = 0;
    const failing: Workload = {
      async: true,
      op: async () => {
        if (++n > 3) throw new Error('peer went away');
      },
      unitsPerOp: 1,
    };
    await expect(
      runSuite('failure test', [{ meta: { name: 'doomed', kind: 'raw' }, workload: failing }], {
        maxTime: 5,
        minSamples: 5,
        stallSeconds: 10,
      }),
    ).rejects.toThrow(/case "doomed" in "failure test" failed: peer went away/);
  });

  it('fails a case that stops completing operations', async () => {
    let n = 0;
    const stuck: Workload = { async: true, op: () => (++n > 2 ? new Promise<void>(() => {}) : Promise.resolve()), unitsPerOp: 1 };
    await expect(
      runSuite('stall test', [{ meta: { name: 'stuck', kind: 'raw' }, workload: stuck }], { maxTime: 5, minSamples: 5, stallSeconds: 1 }),
    ).rejects.toThrow(/case "stuck" in "stall test" completed no operation for 1 s/);
  });

  it('fails when an abort promise rejects (the server process died)', async () => {
    const forever: Workload = { async: true, op: () => new Promise<void>((resolve) => setTimeout(resolve, 5)), unitsPerOp: 1 };
    const abort = new Promise<never>((_, reject) =>
      setTimeout(() => reject(new Error('the bench server process exited unexpectedly')), 50),
    );
    await expect(
      runSuite('abort test', [{ meta: { name: 'x', kind: 'raw' }, workload: forever }], {
        maxTime: 5,
        minSamples: 5,
        stallSeconds: 10,
        abort,
      }),
    ).rejects.toThrow(/exited unexpectedly/);
  });
});

describe('bench server process', () => {
  it('serves the raw baselines from its own process, reports its CPU time, and stops', async () => {
    // The built server is what the bench spawns (npm test builds before running vitest).
    const { startServer } = (await import(
      new URL('../dist/bench/server-process.js', import.meta.url).href
    )) as typeof import('./server-process.js');
    const server = await startServer(
      { plugins: [], spear: [], raw: ['tcp'], host: '127.0.0.1', socketDir: '/unused', secret: 's' },
      undefined,
    );
    let died: unknown;
    server.died.catch((err: unknown) => (died = err));
    try {
      const peer = await RawStreamPeer.connect(server.endpoints.raw.tcp!, 'echo', false);
      const before = await server.cpuMicros();
      await windowedRoundTrips(peer, new Uint8Array(1000), 2000, 64).op();
      const after = await server.cpuMicros();
      expect(after).toBeGreaterThan(before);
      await peer.close();
    } finally {
      await server.stop();
    }
    await new Promise((resolve) => setImmediate(resolve));
    expect(died).toBeUndefined();
  });
});
