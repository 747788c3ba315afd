import { randomUUID } from 'node:crypto';

/** `distributed`: instances on other machines, reached through a message system (nats, else grpc). */
export type RuntimeType = 'process' | 'kubernetes' | 'wasm' | 'distributed';
export const RUNTIME_TYPES: readonly RuntimeType[] = ['process', 'kubernetes', 'wasm', 'distributed'];

export interface RuntimeInstanceId {
  runtimeType: RuntimeType;
  instanceId: string;
}

export type Metadata = Record<string, string>;

interface Envelope {
  requestId: string;
  /** Milliseconds since the epoch. */
  timestamp: number;
  metadata: Metadata;
}

export interface ExecutionRequest extends Envelope {
  type: 'ExecutionRequest';
  functionName: string;
  input: Uint8Array;
  timeoutMs: number;
}

export interface ExecutionError {
  code: string;
  message: string;
}

export interface ExecutionResponse extends Envelope {
  type: 'ExecutionResponse';
  success: boolean;
  output: Uint8Array;
  error?: ExecutionError;
  durationMs: number;
}

/** Without `status` it asks; the answer carries `status` (`'SERVING'` when healthy). */
export interface HealthCheck extends Envelope {
  type: 'HealthCheck';
  status?: string;
}

export interface Ack extends Envelope {
  type: 'Ack';
}

export interface Heartbeat extends Envelope {
  type: 'Heartbeat';
  sequence: number;
}

export interface AuthRequest extends Envelope {
  type: 'AuthRequest';
  instanceId: string;
  token: string;
  clientVersion: string;
  clientType: RuntimeType;
  codec: string;
  extraParams: Record<string, string>;
}

export interface AuthResponse extends Envelope {
  type: 'AuthResponse';
  success: boolean;
  sessionId: string;
  errorMessage?: string;
}

// Streams (docs/streams.md, docs/wire-format.md § Streams): `requestId` is the stream's id, chosen by the opener.
/** Opens a stream to a `streaming()` function; `credit`: bytes of answer chunks the opener accepts before granting more. */
export type StreamOpen = Envelope & { type: 'StreamOpen'; functionName: string; timeoutMs: number; credit: number };
/** A piece of a stream's data, never more than the receiver's outstanding credit. */
export type StreamChunk = Envelope & { type: 'StreamChunk'; data: Uint8Array };
/** The receiver of a stream's chunks allows `credit` more bytes of them. */
export type StreamCredit = Envelope & { type: 'StreamCredit'; credit: number };
/** The sender's chunks are complete; from the serving side it ends the stream, with `error` if the function failed. */
export type StreamEnd = Envelope & { type: 'StreamEnd'; error?: ExecutionError };
/** The sender reads no more of this stream's chunks: the receiver stops sending them. */
export type StreamCancel = Envelope & { type: 'StreamCancel'; reason?: string };
export type StreamMessage = StreamOpen | StreamChunk | StreamCredit | StreamEnd | StreamCancel;

export type RuntimeMessage =
  ExecutionRequest | ExecutionResponse | HealthCheck | Ack | Heartbeat | AuthRequest | AuthResponse | StreamMessage;

export type MessageType = RuntimeMessage['type'];

const CALL_TYPES = ['ExecutionRequest', 'ExecutionResponse', 'HealthCheck', 'Ack', 'Heartbeat', 'AuthRequest', 'AuthResponse'] as const;
const STREAM_TYPES = ['StreamOpen', 'StreamChunk', 'StreamCredit', 'StreamEnd', 'StreamCancel'] as const;
/** Every message kind, in the order of docs/wire-format.md (and of the protobuf oneof). */
export const MESSAGE_TYPES: readonly MessageType[] = [...CALL_TYPES, ...STREAM_TYPES];
export const STREAM_MESSAGE_TYPES: ReadonlySet<MessageType> = new Set(STREAM_TYPES);

export function isStreamMessage(msg: RuntimeMessage): msg is StreamMessage {
  return STREAM_MESSAGE_TYPES.has(msg.type);
}

/** The fields a caller may leave out when building a message. */
export type MessageInit<T extends RuntimeMessage> = Omit<T, 'type' | 'requestId' | 'timestamp' | 'metadata'> &
  Partial<Pick<T, 'requestId' | 'timestamp' | 'metadata'>>;

function envelope(fields: Partial<Envelope>): Envelope {
  return {
    requestId: fields.requestId ?? randomUUID(),
    timestamp: fields.timestamp ?? Date.now(),
    metadata: fields.metadata ?? {},
  };
}

/** Builders that fill in `requestId` (a UUID), `timestamp` (now) and `metadata` ({}). */
export const Messages = {
  executionRequest: (f: MessageInit<ExecutionRequest>): ExecutionRequest => ({ ...f, ...envelope(f), type: 'ExecutionRequest' }),
  executionResponse: (f: MessageInit<ExecutionResponse>): ExecutionResponse => ({ ...f, ...envelope(f), type: 'ExecutionResponse' }),
  healthCheck: (f: MessageInit<HealthCheck> = {}): HealthCheck => ({ ...f, ...envelope(f), type: 'HealthCheck' }),
  ack: (f: MessageInit<Ack> = {}): Ack => ({ ...f, ...envelope(f), type: 'Ack' }),
  heartbeat: (f: MessageInit<Heartbeat>): Heartbeat => ({ ...f, ...envelope(f), type: 'Heartbeat' }),
  authRequest: (f: MessageInit<AuthRequest>): AuthRequest => ({ ...f, ...envelope(f), type: 'AuthRequest' }),
  authResponse: (f: MessageInit<AuthResponse>): AuthResponse => ({ ...f, ...envelope(f), type: 'AuthResponse' }),
};

/** Message kinds that answer an earlier message with the same requestId. */
export function isResponse(msg: RuntimeMessage): boolean {
  const type = msg.type;
  return type === 'ExecutionResponse' || type === 'Ack' || type === 'AuthResponse' || (type === 'HealthCheck' && msg.status !== undefined);
}
