import type { RuntimeMessage } from 'spear-comm';

const bytes = (text: string): Uint8Array => new TextEncoder().encode(text);

/** 2026-01-01T00:00:00Z: fixed, so the vectors never change with the clock. */
const T0 = 1_767_225_600_000;

/**
 * The messages behind the golden vectors in codecs/fixtures/: every kind, both forms of each
 * optional field, and one with non-ASCII text and empty bytes. Their exact encodings in each codec
 * are `codecs/fixtures/<name>.<codec>.hex`, documented in docs/wire-format.md.
 */
export const GOLDEN_MESSAGES: ReadonlyArray<{ name: string; message: RuntimeMessage }> = [
  {
    name: 'execution-request',
    message: {
      type: 'ExecutionRequest',
      requestId: 'req-1',
      timestamp: T0,
      metadata: { trace: 't-1' },
      functionName: 'echo',
      input: bytes('hi'),
      timeoutMs: 5000,
    },
  },
  {
    name: 'execution-response',
    message: {
      type: 'ExecutionResponse',
      requestId: 'req-1',
      timestamp: T0 + 2,
      metadata: {},
      success: true,
      output: bytes('hi'),
      durationMs: 1.5,
    },
  },
  {
    name: 'execution-response-error',
    message: {
      type: 'ExecutionResponse',
      requestId: 'req-2',
      timestamp: T0 + 3,
      metadata: {},
      success: false,
      output: new Uint8Array(0),
      error: { code: 'UnknownFunction', message: 'No function "nope" is served here' },
      durationMs: 0.25,
    },
  },
  { name: 'health-check', message: { type: 'HealthCheck', requestId: 'hc-1', timestamp: T0 + 10, metadata: {} } },
  {
    name: 'health-check-serving',
    message: { type: 'HealthCheck', requestId: 'hc-1', timestamp: T0 + 11, metadata: {}, status: 'SERVING' },
  },
  { name: 'ack', message: { type: 'Ack', requestId: 'req-3', timestamp: T0 + 20, metadata: {} } },
  { name: 'heartbeat', message: { type: 'Heartbeat', requestId: 'hb-42', timestamp: T0 + 30, metadata: {}, sequence: 42 } },
  {
    name: 'auth-request',
    message: {
      type: 'AuthRequest',
      requestId: 'auth-1',
      timestamp: T0,
      metadata: {},
      instanceId: 'worker-1',
      token: 's3cret',
      clientVersion: '0.1.0',
      clientType: 'process',
      codec: 'cbor',
      extraParams: { region: 'eu' },
    },
  },
  {
    name: 'auth-response',
    message: {
      type: 'AuthResponse',
      requestId: 'auth-1',
      timestamp: T0 + 1,
      metadata: { maxFrameSize: '16777216' },
      success: true,
      sessionId: 'sess-1',
    },
  },
  {
    name: 'auth-response-refused',
    message: {
      type: 'AuthResponse',
      requestId: 'auth-1',
      timestamp: T0 + 1,
      metadata: {},
      success: false,
      sessionId: '',
      errorMessage: 'invalid token for instance "worker-1"',
    },
  },
  {
    name: 'execution-request-unicode',
    message: {
      type: 'ExecutionRequest',
      requestId: 'req-ü',
      timestamp: T0 + 40,
      metadata: { clé: 'välue ✓' },
      functionName: 'grüße-😀',
      input: new Uint8Array(0),
      timeoutMs: 0,
    },
  },
  {
    name: 'stream-open',
    message: {
      type: 'StreamOpen',
      requestId: 'st-1',
      timestamp: T0 + 50,
      metadata: {},
      functionName: 'sha256',
      timeoutMs: 30000,
      credit: 1048576,
    },
  },
  { name: 'stream-credit', message: { type: 'StreamCredit', requestId: 'st-1', timestamp: T0 + 51, metadata: {}, credit: 1048576 } },
  { name: 'stream-chunk', message: { type: 'StreamChunk', requestId: 'st-1', timestamp: T0 + 52, metadata: {}, data: bytes('abc') } },
  { name: 'stream-end', message: { type: 'StreamEnd', requestId: 'st-1', timestamp: T0 + 53, metadata: {} } },
  {
    name: 'stream-end-error',
    message: {
      type: 'StreamEnd',
      requestId: 'st-2',
      timestamp: T0 + 54,
      metadata: {},
      error: { code: 'HandlerError', message: 'disk full' },
    },
  },
  {
    name: 'stream-cancel',
    message: { type: 'StreamCancel', requestId: 'st-3', timestamp: T0 + 55, metadata: {}, reason: 'the reader stopped' },
  },
];
