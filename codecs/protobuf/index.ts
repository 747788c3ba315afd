import protobuf from 'protobufjs';
import { Codec, CommunicationError, ErrorCode, validateMessage, type MessageType, type RuntimeMessage } from 'spear-comm';
import { wellFormed, wellFormedMap } from 'spear-comm/codec-kit';
import { packageFile } from './package-file.js';

/** The schema, as shipped in the package: one source of truth, for this codec and for other languages. */
export const RUNTIME_MESSAGE_PROTO = 'proto/spear/v1/runtime_message.proto';

/** The `oneof kind` member (protobufjs's camelCase name) that carries each message kind. */
const MEMBER: Record<MessageType, string> = {
  ExecutionRequest: 'executionRequest',
  ExecutionResponse: 'executionResponse',
  HealthCheck: 'healthCheck',
  Ack: 'ack',
  Heartbeat: 'heartbeat',
  AuthRequest: 'authRequest',
  AuthResponse: 'authResponse',
  StreamOpen: 'streamOpen',
  StreamChunk: 'streamChunk',
  StreamCredit: 'streamCredit',
  StreamEnd: 'streamEnd',
  StreamCancel: 'streamCancel',
};
const TYPE_OF_MEMBER = new Map(Object.entries(MEMBER).map(([type, member]) => [member, type as MessageType]));

function loadRuntimeMessage(): protobuf.Type {
  const file = packageFile(RUNTIME_MESSAGE_PROTO, import.meta.url);
  let type: protobuf.Type;
  try {
    type = new protobuf.Root().loadSync(file).lookupType('spear.v1.RuntimeMessage');
  } catch (err) {
    throw new Error(`protobuf codec: cannot load spear.v1.RuntimeMessage from ${file}: ${(err as Error).message}`, { cause: err });
  }
  // The code below maps kinds to these members; a .proto that drifted from it must fail here, not mid-session.
  const members = type.oneofs['kind']?.fieldsArray.map((field) => field.name) ?? [];
  const missing = Object.values(MEMBER).filter((member) => !members.includes(member));
  if (missing.length > 0) throw new Error(`protobuf codec: ${file} lacks the oneof kind member(s) ${missing.join(', ')}`);
  return type;
}

const RuntimeMessageType = loadRuntimeMessage();
const KIND_FIELDS = RuntimeMessageType.oneofs['kind']!.fieldsArray.map((field) => `${field.name} = ${field.id}`).join(', ');

function fail(detail: string): never {
  throw new CommunicationError(ErrorCode.DecodeFailed, `protobuf codec: ${detail}`);
}

function bytesOf(value: Uint8Array, field: string): Uint8Array {
  // protobufjs would take a string as base64, and anything else would fail later or on the peer.
  if (!(value instanceof Uint8Array)) fail(`field "${field}" must be a Uint8Array to be encoded`);
  return value;
}

function uint64Of(value: number, field = 'Heartbeat.sequence'): number {
  if (!Number.isSafeInteger(value) || value < 0) fail(`${field} must be an integer from 0 to 2^53-1 to be encoded as uint64, got ${value}`);
  return value;
}

/** The message as the plain object protobufjs encodes; strings well-formed, since protobuf strings are UTF-8. */
function toProto(m: RuntimeMessage): Record<string, unknown> {
  const head: Record<string, unknown> = { requestId: wellFormed(m.requestId), timestamp: m.timestamp, metadata: wellFormedMap(m.metadata) };
  head[MEMBER[m.type] ?? fail(`cannot encode unknown message type ${JSON.stringify((m as { type?: unknown }).type)}`)] = kindOf(m);
  return head;
}

/** The fields of the `oneof kind` member (built by assignment: spreading objects costs V8 microseconds a message). */
function kindOf(m: RuntimeMessage): Record<string, unknown> {
  switch (m.type) {
    case 'ExecutionRequest':
      return { functionName: wellFormed(m.functionName), input: bytesOf(m.input, 'input'), timeoutMs: m.timeoutMs };
    case 'ExecutionResponse': {
      const body: Record<string, unknown> = { success: m.success, output: bytesOf(m.output, 'output'), durationMs: m.durationMs };
      if (m.error) body['error'] = { code: wellFormed(m.error.code), message: wellFormed(m.error.message) };
      return body;
    }
    case 'HealthCheck':
      return m.status === undefined ? {} : { status: wellFormed(m.status) };
    case 'Ack':
      return {};
    case 'Heartbeat':
      return { sequence: uint64Of(m.sequence) };
    case 'AuthRequest':
      return {
        instanceId: wellFormed(m.instanceId),
        token: wellFormed(m.token),
        clientVersion: wellFormed(m.clientVersion),
        clientType: m.clientType,
        codec: wellFormed(m.codec),
        extraParams: wellFormedMap(m.extraParams),
      };
    case 'AuthResponse': {
      const body: Record<string, unknown> = { success: m.success, sessionId: wellFormed(m.sessionId) };
      if (m.errorMessage !== undefined) body['errorMessage'] = wellFormed(m.errorMessage);
      return body;
    }
    case 'StreamOpen':
      return { functionName: wellFormed(m.functionName), timeoutMs: m.timeoutMs, credit: uint64Of(m.credit, 'StreamOpen.credit') };
    case 'StreamChunk':
      return { data: bytesOf(m.data, 'data') };
    case 'StreamCredit':
      return { credit: uint64Of(m.credit, 'StreamCredit.credit') };
    case 'StreamEnd':
      return m.error ? { error: { code: wellFormed(m.error.code), message: wellFormed(m.error.message) } } : {};
    case 'StreamCancel':
      return m.reason === undefined ? {} : { reason: wellFormed(m.reason) };
  }
}

type Decoded = Record<string, unknown>;

/** A field that was on the wire (protobufjs serves absent ones from the prototype, where `bytes` defaults to an empty Array). */
function present(body: Decoded, field: string): boolean {
  return Object.hasOwn(body, field);
}

function bytesField(body: Decoded, field: string): unknown {
  return present(body, field) ? body[field] : new Uint8Array(0);
}

/** uint64 comes back as a Long (or a number); a message holds it as a number, when that is exact. */
function uint64Field(body: Decoded, field: string): number {
  const value = body[field];
  if (typeof value === 'number') return value;
  const { low, high } = value as { low: number; high: number };
  if (high >>> 0 > 0x1f_ffff) fail(`field "${field}" is over 2^53-1, the largest integer a JavaScript number holds exactly`);
  return (high >>> 0) * 0x1_0000_0000 + (low >>> 0);
}

/** The decoded protobuf object as the plain message object that validateMessage checks. */
function fromProto(decoded: Decoded): Record<string, unknown> {
  const member = decoded['kind'];
  const type = typeof member === 'string' ? TYPE_OF_MEMBER.get(member) : undefined;
  if (type === undefined) {
    fail(`no message kind is set; a RuntimeMessage needs exactly one of its oneof kind fields (${KIND_FIELDS})`);
  }
  const body = decoded[member as string] as Decoded;
  const out: Record<string, unknown> = {
    type,
    requestId: decoded['requestId'],
    timestamp: decoded['timestamp'],
    metadata: decoded['metadata'],
  };
  switch (type) {
    case 'ExecutionRequest':
      out['functionName'] = body['functionName'];
      out['input'] = bytesField(body, 'input');
      out['timeoutMs'] = body['timeoutMs'];
      break;
    case 'ExecutionResponse':
      out['success'] = body['success'];
      out['output'] = bytesField(body, 'output');
      if (present(body, 'error')) out['error'] = body['error'];
      out['durationMs'] = body['durationMs'];
      break;
    case 'HealthCheck':
      if (present(body, 'status')) out['status'] = body['status'];
      break;
    case 'Ack':
      break;
    case 'Heartbeat':
      out['sequence'] = uint64Field(body, 'sequence');
      break;
    case 'AuthRequest':
      for (const field of ['instanceId', 'token', 'clientVersion', 'clientType', 'codec', 'extraParams']) out[field] = body[field];
      break;
    case 'AuthResponse':
      out['success'] = body['success'];
      out['sessionId'] = body['sessionId'];
      if (present(body, 'errorMessage')) out['errorMessage'] = body['errorMessage'];
      break;
    case 'StreamOpen':
      out['functionName'] = body['functionName'];
      out['timeoutMs'] = body['timeoutMs'];
      out['credit'] = uint64Field(body, 'credit');
      break;
    case 'StreamChunk':
      out['data'] = bytesField(body, 'data');
      break;
    case 'StreamCredit':
      out['credit'] = uint64Field(body, 'credit');
      break;
    case 'StreamEnd':
      if (present(body, 'error')) out['error'] = body['error'];
      break;
    case 'StreamCancel':
      if (present(body, 'reason')) out['reason'] = body['reason'];
      break;
  }
  return out;
}

const plainBytes = (value: unknown, field: string): Uint8Array => {
  if (value instanceof Uint8Array) return value;
  return fail(`field "${field}" must be bytes`);
};

/** StreamChunks with at least this many bytes of data are encoded as a head and the data itself (encodeParts). */
const PARTS_ABOVE = 16 * 1024;
const NO_BYTES = new Uint8Array(0);

function varint(n: number): number[] {
  const out: number[] = [];
  for (; n >= 0x80; n = Math.floor(n / 0x80)) out.push((n % 0x80) | 0x80);
  out.push(n);
  return out;
}

/** The stream_chunk member's tag: an encoded StreamChunk with empty data ends with it and length 0 (proto3 leaves the empty field out). */
const CHUNK_TAG = varint((RuntimeMessageType.fields['streamChunk']!.id << 3) | 2);
const EMPTY_CHUNK_TAIL = [...CHUNK_TAG, 0];

/** Protocol Buffers: `spear.v1.RuntimeMessage` from the shipped proto/spear/v1/runtime_message.proto. */
@Codec({ name: 'protobuf', contentType: 'application/x-protobuf' })
export class ProtobufCodec implements Codec {
  readonly name = 'protobuf';
  readonly contentType = 'application/x-protobuf';

  encode(message: RuntimeMessage): Uint8Array {
    const buf = RuntimeMessageType.encode(toProto(message)).finish();
    return new Uint8Array(buf.buffer, buf.byteOffset, buf.byteLength);
  }

  /**
   * A large StreamChunk as `[head, data]` that concatenate to `encode(message)`, the data not copied:
   * protobufjs writes fields by number, so the chunk member comes last and its data last within it.
   */
  encodeParts(message: RuntimeMessage): Uint8Array[] | undefined {
    if (message.type !== 'StreamChunk' || !(message.data instanceof Uint8Array) || message.data.byteLength < PARTS_ABOVE) return undefined;
    const empty = this.encode({ ...message, data: NO_BYTES });
    const cut = empty.byteLength - EMPTY_CHUNK_TAIL.length;
    if (!EMPTY_CHUNK_TAIL.every((b, i) => empty[cut + i] === b)) return undefined;
    const dataLength = varint(message.data.byteLength);
    // The member then holds data's tag (field 1, length-delimited), its length, and the data.
    const tail = [...CHUNK_TAG, ...varint(1 + dataLength.length + message.data.byteLength), 0x0a, ...dataLength];
    const head = new Uint8Array(cut + tail.length);
    head.set(empty.subarray(0, cut));
    head.set(tail, cut);
    return [head, message.data];
  }

  decode(bytes: Uint8Array): RuntimeMessage {
    let decoded: Decoded;
    try {
      // A plain Uint8Array view makes protobufjs return bytes fields as Uint8Array, not Buffer.
      decoded = RuntimeMessageType.decode(new Uint8Array(bytes.buffer, bytes.byteOffset, bytes.byteLength));
    } catch (err) {
      throw new CommunicationError(
        ErrorCode.DecodeFailed,
        `protobuf codec: frame of ${bytes.byteLength} bytes is not a spear.v1.RuntimeMessage (${(err as Error).message})`,
        { cause: err },
      );
    }
    return validateMessage(fromProto(decoded), { bytes: plainBytes });
  }
}
