import { CommunicationError, ErrorCode, MESSAGE_TYPES, type Metadata, type RuntimeMessage } from 'spear-comm';

/** How a codec writes each kind of value (e.g. bytes as base64 for json, as is for cbor). */
export interface FieldWriters {
  string(value: string): unknown;
  number(value: number): unknown;
  bytes(value: Uint8Array, field: string): unknown;
  map(value: Metadata): unknown;
}

/**
 * The message's fields as a plain object in the fixed wire order of docs/wire-format.md: `type`,
 * `requestId`, `timestamp`, `metadata`, then the kind's own fields; absent optional fields left
 * out. The json and cbor codecs both write this object, so their field order cannot drift apart.
 * Built by assignment: spreading a shared head object costs V8 several microseconds a message.
 */
export function messageFields(m: RuntimeMessage, w: FieldWriters): Record<string, unknown> {
  const out: Record<string, unknown> = {
    type: m.type,
    requestId: w.string(m.requestId),
    timestamp: w.number(m.timestamp),
    metadata: w.map(m.metadata),
  };
  switch (m.type) {
    case 'ExecutionRequest':
      out['functionName'] = w.string(m.functionName);
      out['input'] = w.bytes(m.input, 'input');
      out['timeoutMs'] = w.number(m.timeoutMs);
      return out;
    case 'ExecutionResponse':
      out['success'] = m.success;
      out['output'] = w.bytes(m.output, 'output');
      if (m.error) out['error'] = { code: w.string(m.error.code), message: w.string(m.error.message) };
      out['durationMs'] = w.number(m.durationMs);
      return out;
    case 'HealthCheck':
      if (m.status !== undefined) out['status'] = w.string(m.status);
      return out;
    case 'Ack':
      return out;
    case 'Heartbeat':
      out['sequence'] = w.number(m.sequence);
      return out;
    case 'AuthRequest':
      out['instanceId'] = w.string(m.instanceId);
      out['token'] = w.string(m.token);
      out['clientVersion'] = w.string(m.clientVersion);
      out['clientType'] = m.clientType;
      out['codec'] = w.string(m.codec);
      out['extraParams'] = w.map(m.extraParams);
      return out;
    case 'AuthResponse':
      out['success'] = m.success;
      out['sessionId'] = w.string(m.sessionId);
      if (m.errorMessage !== undefined) out['errorMessage'] = w.string(m.errorMessage);
      return out;
    case 'StreamOpen':
      out['functionName'] = w.string(m.functionName);
      out['timeoutMs'] = w.number(m.timeoutMs);
      out['credit'] = w.number(m.credit);
      return out;
    case 'StreamChunk':
      out['data'] = w.bytes(m.data, 'data');
      return out;
    case 'StreamCredit':
      out['credit'] = w.number(m.credit);
      return out;
    case 'StreamEnd':
      if (m.error) out['error'] = { code: w.string(m.error.code), message: w.string(m.error.message) };
      return out;
    case 'StreamCancel':
      if (m.reason !== undefined) out['reason'] = w.string(m.reason);
      return out;
    default:
      throw new CommunicationError(
        ErrorCode.DecodeFailed,
        `Cannot encode a message of unknown type ${JSON.stringify((m as { type?: unknown }).type)}; expected one of ${MESSAGE_TYPES.join(', ')}`,
      );
  }
}
