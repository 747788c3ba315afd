import { Codec, CommunicationError, ErrorCode, validateMessage, type RuntimeMessage } from 'spear-comm';
import { messageFields, type FieldWriters } from 'spear-comm/codec-kit';

const BASE64 = /^[A-Za-z0-9+/]*={0,2}$/;
const utf8 = new TextDecoder('utf-8', { fatal: true });

function toBase64(bytes: Uint8Array): string {
  return Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength).toString('base64');
}

function fromBase64(value: unknown, field: string): Uint8Array {
  if (typeof value !== 'string' || value.length % 4 !== 0 || !BASE64.test(value)) {
    throw new CommunicationError(
      ErrorCode.DecodeFailed,
      `Malformed RuntimeMessage: field "${field}" must be a standard base64 string (RFC 4648, padded)`,
    );
  }
  const buf = Buffer.from(value, 'base64');
  return new Uint8Array(buf.buffer, buf.byteOffset, buf.byteLength);
}

/** JSON values for the message's fields (in the fixed order of messageFields): bytes as base64 strings. */
const JSON_FIELDS: FieldWriters = {
  string: (value) => value,
  number: (value) => value,
  bytes: toBase64,
  map: (value) => value,
};

/** JSON (UTF-8): the fields of a RuntimeMessage as an object, bytes as base64. */
@Codec({ name: 'json', contentType: 'application/json' })
export class JsonCodec implements Codec {
  readonly name = 'json';
  readonly contentType = 'application/json';

  encode(message: RuntimeMessage): Uint8Array {
    const buf = Buffer.from(JSON.stringify(messageFields(message, JSON_FIELDS)), 'utf8');
    return new Uint8Array(buf.buffer, buf.byteOffset, buf.byteLength);
  }

  decode(bytes: Uint8Array): RuntimeMessage {
    let value: unknown;
    try {
      value = JSON.parse(utf8.decode(bytes));
    } catch (err) {
      throw new CommunicationError(
        ErrorCode.DecodeFailed,
        `json codec: frame of ${bytes.byteLength} bytes is not UTF-8 JSON (${(err as Error).message})`,
      );
    }
    return validateMessage(value, { bytes: fromBase64 });
  }
}
