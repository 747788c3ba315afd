import { LatencyRecorder, type Codec, type ExecutionRequest, type ExecutionResponse } from 'spear-comm';
import { WINDOW, type Mode } from './model.js';
import type { Peer } from './peer.js';

/** One benny operation and how many units (round trips, requests, messages) it stands for. */
export type Workload =
  /** Anything that crosses a connection. */
  (
    | { async: true; op: () => Promise<void> }
    /** Codec loops: benny times these in a tight synchronous loop. */
    | { async: false; op: () => void }
  ) & { unitsPerOp: number; latency?: LatencyRecorder };

/**
 * Units per benny operation: enough to make benny's own per-operation cost negligible, few
 * enough that a 1 MiB case still collects several samples.
 */
export function unitsPerOp(mode: Mode, size: number): number {
  switch (mode) {
    case 'rr1':
      return size <= 1024 ? 16 : size <= 64 * 1024 ? 4 : 1;
    case 'rr64':
      return size <= 1024 ? WINDOW * 8 : size <= 64 * 1024 ? WINDOW * 4 : WINDOW * 2;
    case 'oneway':
      return size <= 1024 ? 256 : size <= 64 * 1024 ? 64 : 8;
    case 'codec':
      return 1;
  }
}

export function randomPayload(size: number): Uint8Array {
  const bytes = new Uint8Array(size);
  for (let i = 0; i < size; i++) bytes[i] = (i * 2654435761) >>> 24;
  return bytes;
}

/** `count` round trips one after another, each timed. */
export function sequentialRoundTrips(peer: Peer, payload: Uint8Array, count: number): Workload {
  const latency = new LatencyRecorder();
  const op = async () => {
    for (let i = 0; i < count; i++) {
      const started = performance.now();
      await peer.roundTrip(payload);
      latency.recordMs(performance.now() - started);
    }
  };
  return { async: true, op, unitsPerOp: count, latency };
}

/** `count` round trips with `window` outstanding at all times until the last ones drain. */
export function windowedRoundTrips(peer: Peer, payload: Uint8Array, count: number, window: number): Workload {
  const latency = new LatencyRecorder();
  const op = () =>
    new Promise<void>((resolve, reject) => {
      let started = 0;
      let done = 0;
      let failed = false;
      const launch = (): void => {
        started++;
        const t0 = performance.now();
        peer.roundTrip(payload).then(
          () => {
            latency.recordMs(performance.now() - t0);
            if (++done === count) resolve();
            else if (started < count && !failed) launch();
          },
          (err: unknown) => {
            if (!failed) reject(err);
            failed = true;
          },
        );
      };
      for (let i = 0; i < Math.min(window, count); i++) launch();
    });
  return { async: true, op, unitsPerOp: count, latency };
}

/** `count` messages sent back to back, then a sync that proves the receiver has consumed them all. */
export function oneWayBatch(peer: Peer, payload: Uint8Array, count: number): Workload {
  const op = async () => {
    const accepted: Promise<void>[] = [];
    for (let i = 0; i < count; i++) {
      const sent = peer.send(payload);
      if (sent) accepted.push(sent);
    }
    await peer.sync();
    await Promise.all(accepted);
  };
  return { async: true, op, unitsPerOp: count };
}

/** The messages `invoke()` and `serve()` exchange for a payload, as the codec sees them. */
export function exchangeMessages(payload: Uint8Array): { request: ExecutionRequest; response: ExecutionResponse } {
  const requestId = 'mf3x1c2b-k2j4h1-1a';
  return {
    request: {
      type: 'ExecutionRequest',
      requestId,
      timestamp: Date.now(),
      metadata: {},
      functionName: 'echo',
      input: payload,
      timeoutMs: 30_000,
    },
    response: {
      type: 'ExecutionResponse',
      requestId,
      timestamp: Date.now(),
      metadata: {},
      durationMs: 0.0421,
      success: true,
      output: payload,
    },
  };
}

/** Encode+decode of one ExecutionRequest: the codec alone. */
export function codecRequestLoop(codec: Codec, payload: Uint8Array): Workload {
  const { request } = exchangeMessages(payload);
  return {
    async: false,
    op: () => {
      const decoded = codec.decode(codec.encode(request));
      if (decoded.type !== 'ExecutionRequest') throw new Error(`${codec.name} decoded a ${decoded.type}`);
    },
    unitsPerOp: 1,
  };
}

/** Encode+decode of a request and its response: the codec work of one in-process round trip. */
export function codecExchangeLoop(codec: Codec, payload: Uint8Array): Workload {
  const { request, response } = exchangeMessages(payload);
  return {
    async: false,
    op: () => {
      const a = codec.decode(codec.encode(request));
      const b = codec.decode(codec.encode(response));
      if (a.type !== 'ExecutionRequest' || b.type !== 'ExecutionResponse') throw new Error(`${codec.name} decoded ${a.type}/${b.type}`);
    },
    unitsPerOp: 1,
  };
}

export function workloadFor(mode: Exclude<Mode, 'codec'>, peer: Peer, payload: Uint8Array): Workload {
  const units = unitsPerOp(mode, payload.byteLength);
  switch (mode) {
    case 'rr1':
      return sequentialRoundTrips(peer, payload, units);
    case 'rr64':
      return windowedRoundTrips(peer, payload, units, WINDOW);
    case 'oneway':
      return oneWayBatch(peer, payload, units);
  }
}
