import { CommunicationError, ErrorCode } from './errors.js';
import { quotePeerText } from './peer-text.js';
import { MESSAGE_TYPES, RUNTIME_TYPES, type MessageType, type RuntimeMessage, type RuntimeType } from './messages.js';

export interface ValidateOptions {
  /** Turns a codec's representation of a bytes field into a Uint8Array (or throws). */
  bytes?: (value: unknown, field: string) => Uint8Array;
}

type Obj = Record<string, unknown>;

function fail(detail: string): never {
  throw new CommunicationError(ErrorCode.DecodeFailed, `Malformed RuntimeMessage: ${detail}`);
}

const defaultBytes = (value: unknown, field: string): Uint8Array => {
  if (value instanceof Uint8Array) return value;
  return fail(`field "${field}" must be bytes, got ${describe(value)}`);
};

function describe(value: unknown): string {
  if (value === null) return 'null';
  if (Array.isArray(value)) return 'an array';
  return typeof value;
}

function str(o: Obj, field: string): string {
  const v = o[field];
  if (typeof v !== 'string') fail(`field "${field}" must be a string, got ${describe(v)}`);
  return v;
}

function optStr(o: Obj, field: string): string | undefined {
  return o[field] === undefined || o[field] === null ? undefined : str(o, field);
}

function num(o: Obj, field: string, min = -Infinity, integer = false): number {
  const v = o[field];
  if (typeof v !== 'number' || !Number.isFinite(v)) fail(`field "${field}" must be a finite number, got ${describe(v)}`);
  if (integer && !Number.isInteger(v)) fail(`field "${field}" must be an integer, got ${v}`);
  if (v < min) fail(`field "${field}" must be >= ${min}, got ${v}`);
  return v;
}

function bool(o: Obj, field: string): boolean {
  const v = o[field];
  if (typeof v !== 'boolean') fail(`field "${field}" must be a boolean, got ${describe(v)}`);
  return v;
}

function stringMap(o: Obj, field: string): Record<string, string> {
  const v = o[field];
  if (v === undefined || v === null) return {};
  if (typeof v !== 'object' || Array.isArray(v) || v instanceof Uint8Array)
    fail(`field "${field}" must be a map of strings, got ${describe(v)}`);
  const out: Record<string, string> = {};
  for (const [k, val] of Object.entries(v as Obj)) {
    if (typeof val !== 'string') fail(`${quotePeerText(`${field}.${k}`)} must be a string, got ${describe(val)}`);
    // A plain assignment to "__proto__" would hit the prototype setter and silently drop the key.
    if (k === '__proto__') Object.defineProperty(out, k, { value: val, enumerable: true, writable: true, configurable: true });
    else out[k] = val;
  }
  return out;
}

function executionError(o: Obj): { code: string; message: string } | undefined {
  const err = o['error'];
  if (err === undefined || err === null) return undefined;
  if (typeof err !== 'object' || Array.isArray(err)) fail(`field "error" must be an object, got ${describe(err)}`);
  return { code: str(err as Obj, 'code'), message: str(err as Obj, 'message') };
}

/**
 * Checks a decoded value field by field and returns a well-typed RuntimeMessage with only the
 * known fields. Every codec runs its output through this, so all codecs reject the same inputs.
 */
export function validateMessage(value: unknown, options: ValidateOptions = {}): RuntimeMessage {
  if (typeof value !== 'object' || value === null || Array.isArray(value)) fail(`expected an object, got ${describe(value)}`);
  const o = value as Obj;
  const bytes = options.bytes ?? defaultBytes;
  const type = o['type'];
  if (typeof type !== 'string' || !MESSAGE_TYPES.includes(type as MessageType)) {
    fail(`unknown message type ${quotePeerText(type)}; expected one of ${MESSAGE_TYPES.join(', ')}`);
  }
  const requestId = str(o, 'requestId');
  const timestamp = num(o, 'timestamp');
  const metadata = stringMap(o, 'metadata');
  switch (type as MessageType) {
    case 'ExecutionRequest': {
      const functionName = str(o, 'functionName');
      const input = bytes(o['input'], 'input');
      return { type: 'ExecutionRequest', requestId, timestamp, metadata, functionName, input, timeoutMs: num(o, 'timeoutMs', 0) };
    }
    case 'ExecutionResponse': {
      const success = bool(o, 'success');
      const output = bytes(o['output'], 'output');
      const durationMs = num(o, 'durationMs', 0);
      const msg: RuntimeMessage = { type: 'ExecutionResponse', requestId, timestamp, metadata, success, output, durationMs };
      const error = executionError(o);
      if (error) msg.error = error;
      return msg;
    }
    case 'HealthCheck': {
      const status = optStr(o, 'status');
      return status === undefined
        ? { type: 'HealthCheck', requestId, timestamp, metadata }
        : { type: 'HealthCheck', requestId, timestamp, metadata, status };
    }
    case 'Ack':
      return { type: 'Ack', requestId, timestamp, metadata };
    case 'Heartbeat':
      return { type: 'Heartbeat', requestId, timestamp, metadata, sequence: num(o, 'sequence', 0, true) };
    case 'AuthRequest': {
      const clientType = str(o, 'clientType');
      if (!RUNTIME_TYPES.includes(clientType as never))
        fail(`"clientType" must be one of ${RUNTIME_TYPES.join(', ')}, got ${quotePeerText(clientType)}`);
      return {
        type: 'AuthRequest',
        requestId,
        timestamp,
        metadata,
        instanceId: str(o, 'instanceId'),
        token: str(o, 'token'),
        clientVersion: str(o, 'clientVersion'),
        clientType: clientType as RuntimeType,
        codec: str(o, 'codec'),
        extraParams: stringMap(o, 'extraParams'),
      };
    }
    case 'AuthResponse': {
      const errorMessage = optStr(o, 'errorMessage');
      const success = bool(o, 'success');
      const msg: RuntimeMessage = { type: 'AuthResponse', requestId, timestamp, metadata, success, sessionId: str(o, 'sessionId') };
      if (errorMessage !== undefined) msg.errorMessage = errorMessage;
      return msg;
    }
    case 'StreamOpen': {
      const functionName = str(o, 'functionName');
      const timeoutMs = num(o, 'timeoutMs', 0);
      return { type: 'StreamOpen', requestId, timestamp, metadata, functionName, timeoutMs, credit: num(o, 'credit', 0, true) };
    }
    case 'StreamChunk':
      return { type: 'StreamChunk', requestId, timestamp, metadata, data: bytes(o['data'], 'data') };
    case 'StreamCredit':
      return { type: 'StreamCredit', requestId, timestamp, metadata, credit: num(o, 'credit', 0, true) };
    case 'StreamEnd': {
      const error = executionError(o);
      return error ? { type: 'StreamEnd', requestId, timestamp, metadata, error } : { type: 'StreamEnd', requestId, timestamp, metadata };
    }
    case 'StreamCancel': {
      const reason = optStr(o, 'reason');
      return reason === undefined
        ? { type: 'StreamCancel', requestId, timestamp, metadata }
        : { type: 'StreamCancel', requestId, timestamp, metadata, reason };
    }
  }
}
