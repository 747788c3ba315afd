// spear-comm/codec-kit: the building blocks of a codec — the message's fields in wire order, and
// strings made safe for UTF-8. The built-in json, cbor and protobuf codecs use this same entry.
export { messageFields } from './message-fields.js';
export type { FieldWriters } from './message-fields.js';
export { wellFormed, wellFormedMap } from './well-formed.js';
