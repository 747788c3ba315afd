// An independent protobuf reader written from the field table in docs/wire-format.md and the
// protobuf wire format alone (no protobufjs), as a client in another language would write it.

import type { RuntimeMessage } from 'spear-comm';

type Wire = { field: number; wire: number; varint?: bigint; bytes?: Uint8Array; fixed64?: DataView };

function readFields(bytes: Uint8Array): Wire[] {
  const out: Wire[] = [];
  let pos = 0;
  const varint = (): bigint => {
    let value = 0n;
    for (let shift = 0n; ; shift += 7n) {
      if (pos >= bytes.length) throw new Error('truncated varint');
      const b = bytes[pos++]!;
      value |= BigInt(b & 0x7f) << shift;
      if ((b & 0x80) === 0) return value;
      if (shift > 63n) throw new Error('varint too long');
    }
  };
  while (pos < bytes.length) {
    const tag = Number(varint());
    const field = tag >>> 3;
    const wire = tag & 7;
    if (wire === 0) out.push({ field, wire, varint: varint() });
    else if (wire === 1) {
      out.push({ field, wire, fixed64: new DataView(bytes.buffer, bytes.byteOffset + pos, 8) });
      pos += 8;
    } else if (wire === 2) {
      const length = Number(varint());
      if (pos + length > bytes.length) throw new Error('truncated field');
      out.push({ field, wire, bytes: bytes.subarray(pos, (pos += length)) });
    } else throw new Error(`wire type ${wire} is not used by spear.v1`);
  }
  return out;
}

type FieldType = 'string' | 'bytes' | 'double' | 'bool' | 'uint64' | 'map' | 'error';

/** The tables of docs/wire-format.md: kind by oneof field number, then each kind's fields. */
const KINDS: Record<number, { type: RuntimeMessage['type']; fields: Record<number, [string, FieldType]> }> = {
  10: { type: 'ExecutionRequest', fields: { 1: ['functionName', 'string'], 2: ['input', 'bytes'], 3: ['timeoutMs', 'double'] } },
  11: {
    type: 'ExecutionResponse',
    fields: { 1: ['success', 'bool'], 2: ['output', 'bytes'], 3: ['error', 'error'], 4: ['durationMs', 'double'] },
  },
  12: { type: 'HealthCheck', fields: { 1: ['status', 'string'] } },
  13: { type: 'Ack', fields: {} },
  14: { type: 'Heartbeat', fields: { 1: ['sequence', 'uint64'] } },
  15: {
    type: 'AuthRequest',
    fields: {
      1: ['instanceId', 'string'],
      2: ['token', 'string'],
      3: ['clientVersion', 'string'],
      4: ['clientType', 'string'],
      5: ['codec', 'string'],
      6: ['extraParams', 'map'],
    },
  },
  16: { type: 'AuthResponse', fields: { 1: ['success', 'bool'], 2: ['sessionId', 'string'], 3: ['errorMessage', 'string'] } },
  17: { type: 'StreamOpen', fields: { 1: ['functionName', 'string'], 2: ['timeoutMs', 'double'], 3: ['credit', 'uint64'] } },
  18: { type: 'StreamChunk', fields: { 1: ['data', 'bytes'] } },
  19: { type: 'StreamCredit', fields: { 1: ['credit', 'uint64'] } },
  20: { type: 'StreamEnd', fields: { 1: ['error', 'error'] } },
  21: { type: 'StreamCancel', fields: { 1: ['reason', 'string'] } },
};
/** Fields with explicit presence: absent on the wire means absent in the message, not the default. */
const OPTIONAL = new Set(['status', 'errorMessage', 'error', 'reason']);
const DEFAULTS: Record<FieldType, () => unknown> = {
  string: () => '',
  bytes: () => new Uint8Array(0),
  double: () => 0,
  bool: () => false,
  uint64: () => 0,
  map: () => ({}),
  error: () => undefined,
};

const utf8 = new TextDecoder('utf-8', { fatal: true });

function value(w: Wire, type: FieldType): unknown {
  switch (type) {
    case 'string':
      return utf8.decode(w.bytes);
    case 'bytes':
      return new Uint8Array(w.bytes!);
    case 'double':
      return w.fixed64!.getFloat64(0, true);
    case 'bool':
      return w.varint !== 0n;
    case 'uint64':
      return Number(w.varint!);
    case 'map':
    case 'error': {
      const inner = readFields(w.bytes!);
      const pick = (n: number) =>
        inner
          .filter((f) => f.field === n)
          .map((f) => utf8.decode(f.bytes))
          .at(-1) ?? '';
      return type === 'map' ? [pick(1), pick(2)] : { code: pick(1), message: pick(2) };
    }
  }
}

function addEntry(map: Record<string, string>, [key, entry]: [string, string]): void {
  Object.defineProperty(map, key, { value: entry, enumerable: true, writable: true, configurable: true });
}

export function decodeByTheDocs(bytes: Uint8Array): RuntimeMessage {
  const top = readFields(bytes);
  const kindField = top.filter((f) => KINDS[f.field] !== undefined).at(-1);
  if (!kindField) throw new Error('no kind');
  const kind = KINDS[kindField.field]!;
  const message: Record<string, unknown> = { type: kind.type, requestId: '', timestamp: 0, metadata: {} };
  for (const f of top) {
    if (f.field === 1) message['requestId'] = value(f, 'string');
    if (f.field === 2) message['timestamp'] = value(f, 'double');
    if (f.field === 3) addEntry(message['metadata'] as Record<string, string>, value(f, 'map') as [string, string]);
  }
  for (const [name, type] of Object.values(kind.fields)) if (!OPTIONAL.has(name)) message[name] = DEFAULTS[type]();
  for (const f of readFields(kindField.bytes!)) {
    const spec = kind.fields[f.field];
    if (!spec) continue;
    const [name, type] = spec;
    if (type === 'map') addEntry(message[name] as Record<string, string>, value(f, type) as [string, string]);
    else message[name] = value(f, type);
  }
  return message as unknown as RuntimeMessage;
}
