import { Codec, CommunicationError, ErrorCode, validateMessage, type RuntimeMessage } from 'spear-comm';

const BASE64 = /^[A-Za-z0-9+/]*={0,2}$/;
const utf8 = new TextDecoder('utf-8', { fatal: true });

function toBase64(bytes: Uint8Array): string {
  return Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength).toString('base64');
}

function fromBase64(value: unknown, field: string): Uint8Array {
  if (typeof value !== 'string' || value.length % 4 !== 0 || !BASE64.test(value)) {
    throw new CommunicationError(ErrorCode.DecodeFailed, `Malformed RuntimeMessage: field "${field}" must be a standard base64 string (RFC 4648, padded)`);
  }
  const buf = Buffer.from(value, 'base64');
  return new Uint8Array(buf.buffer, buf.byteOffset, buf.byteLength);
}

/**
 * The message as a JSON object in a fixed field order (common fields, then the kind's own, as in
 * docs/wire-format.md), with bytes as base64 strings; absent optional fields are left out.
 */
function toJsonObject(m: RuntimeMessage): Record<string, unknown> {
  const head = { type: m.type, requestId: m.requestId, timestamp: m.timestamp, metadata: m.metadata };
  switch (m.type) {
    case 'ExecutionRequest':
      return { ...head, functionName: m.functionName, input: toBase64(m.input), timeoutMs: m.timeoutMs };
    case 'ExecutionResponse':
      return { ...head, success: m.success, output: toBase64(m.output), ...(m.error ? { error: { code: m.error.code, message: m.error.message } } : {}), durationMs: m.durationMs };
    case 'HealthCheck':
      return m.status === undefined ? head : { ...head, status: m.status };
    case 'Ack':
      return head;
    case 'Heartbeat':
      return { ...head, sequence: m.sequence };
    case 'AuthRequest':
      return { ...head, instanceId: m.instanceId, token: m.token, clientVersion: m.clientVersion, clientType: m.clientType, codec: m.codec, extraParams: m.extraParams };
    case 'AuthResponse':
      return { ...head, success: m.success, sessionId: m.sessionId, ...(m.errorMessage !== undefined ? { errorMessage: m.errorMessage } : {}) };
    default:
      throw new CommunicationError(ErrorCode.DecodeFailed, `json codec: cannot encode unknown message type ${JSON.stringify((m as { type?: unknown }).type)}`);
  }
}

/** JSON (UTF-8): the fields of a RuntimeMessage as an object, bytes as base64. */
@Codec({ name: 'json', contentType: 'application/json' })
export class JsonCodec implements Codec {
  readonly name = 'json';
  readonly contentType = 'application/json';

  encode(message: RuntimeMessage): Uint8Array {
    const buf = Buffer.from(JSON.stringify(toJsonObject(message)), 'utf8');
    return new Uint8Array(buf.buffer, buf.byteOffset, buf.byteLength);
  }

  decode(bytes: Uint8Array): RuntimeMessage {
    let value: unknown;
    try {
      value = JSON.parse(utf8.decode(bytes));
    } catch (err) {
      throw new CommunicationError(ErrorCode.DecodeFailed, `json codec: frame of ${bytes.byteLength} bytes is not UTF-8 JSON (${(err as Error).message})`);
    }
    return validateMessage(value, { bytes: fromBase64 });
  }
}
