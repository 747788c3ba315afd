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

function num(o: Obj, field: string, { integer = false, min = -Infinity } = {}): number {
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
  const base = { requestId: str(o, 'requestId'), timestamp: num(o, 'timestamp'), metadata: stringMap(o, 'metadata') };
  switch (type as MessageType) {
    case 'ExecutionRequest':
      return {
        type: 'ExecutionRequest',
        ...base,
        functionName: str(o, 'functionName'),
        input: bytes(o['input'], 'input'),
        timeoutMs: num(o, 'timeoutMs', { min: 0 }),
      };
    case 'ExecutionResponse': {
      const msg: RuntimeMessage = {
        type: 'ExecutionResponse',
        ...base,
        success: bool(o, 'success'),
        output: bytes(o['output'], 'output'),
        durationMs: num(o, 'durationMs', { min: 0 }),
      };
      const error = executionError(o);
      if (error) msg.error = error;
      return msg;
    }
    case 'HealthCheck': {
      const status = optStr(o, 'status');
      return status === undefined ? { type: 'HealthCheck', ...base } : { type: 'HealthCheck', ...base, status };
    }
    case 'Ack':
      return { type: 'Ack', ...base };
    case 'Heartbeat':
      return { type: 'Heartbeat', ...base, sequence: num(o, 'sequence', { integer: true, min: 0 }) };
    case 'AuthRequest': {
      const clientType = str(o, 'clientType');
      if (!RUNTIME_TYPES.includes(clientType as never))
        fail(`"clientType" must be one of ${RUNTIME_TYPES.join(', ')}, got ${quotePeerText(clientType)}`);
      return {
        type: 'AuthRequest',
        ...base,
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
      const msg: RuntimeMessage = { type: 'AuthResponse', ...base, success: bool(o, 'success'), sessionId: str(o, 'sessionId') };
      if (errorMessage !== undefined) msg.errorMessage = errorMessage;
      return msg;
    }
    case 'StreamOpen':
      return {
        type: 'StreamOpen',
        ...base,
        functionName: str(o, 'functionName'),
        timeoutMs: num(o, 'timeoutMs', { min: 0 }),
        credit: num(o, 'credit', { integer: true, min: 0 }),
      };
    case 'StreamChunk':
      return { type: 'StreamChunk', ...base, data: bytes(o['data'], 'data') };
    case 'StreamCredit':
      return { type: 'StreamCredit', ...base, credit: num(o, 'credit', { integer: true, min: 0 }) };
    case 'StreamEnd': {
      const error = executionError(o);
      return error ? { type: 'StreamEnd', ...base, error } : { type: 'StreamEnd', ...base };
    }
    case 'StreamCancel': {
      const reason = optStr(o, 'reason');
      return reason === undefined ? { type: 'StreamCancel', ...base } : { type: 'StreamCancel', ...base, reason };
    }
  }
}
