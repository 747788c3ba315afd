/**
 * The messages one spear-comm connection exchanges over NATS (docs/wire-format.md, "NATS").
 * Every message on a connection's subjects starts with a kind byte and a 32-bit sequence number
 * counted per direction, so a message NATS lost (core NATS is at-most-once) shows as a gap and
 * closes the connection instead of going unnoticed.
 */
export const Kind = {
  /** A whole frame: [kind][seq][bytes]. */
  Frame: 1,
  /** The first part of a frame larger than one NATS message: [kind][seq][total u32][bytes]. */
  FrameStart: 2,
  /** A further part: [kind][seq][bytes]; the frame is whole once `total` bytes have arrived. */
  FrameMore: 3,
  /** Flow-control credit: [kind][seq][consumed f64], the receiver's running total of frame cost delivered. */
  Credit: 4,
  /** The sender is waiting for credit: [kind][seq]. */
  Want: 5,
  /** Liveness: [kind][seq], sent when nothing else was sent for a heartbeat interval. */
  Ping: 6,
  /** The end of the connection: [kind][seq][reason u8][utf-8 text]. */
  Close: 7,
} as const;
export type Kind = (typeof Kind)[keyof typeof Kind];

export const CloseReason = {
  /** An orderly close. */
  Normal: 0,
  /** A frame over the receiver's limit. */
  FrameTooLarge: 1,
  /** A message that breaks this protocol (unknown kind, bad chunk). */
  Protocol: 2,
  /** The connection was lost (a sequence gap, a dead peer). */
  Lost: 3,
  /** The sender closes because of a failure; the text is `<ErrorCode>: <message>`. */
  Failure: 4,
} as const;
export type CloseReason = (typeof CloseReason)[keyof typeof CloseReason];

export const HEADER_BYTES = 5;
export const START_HEADER_BYTES = 9;

/** What a frame counts against the flow-control window: its bytes plus a fixed per-frame cost. */
export function frameCost(length: number): number {
  return length + 16;
}

export function header(kind: Kind, seq: number, extra = 0): Uint8Array {
  const out = new Uint8Array(HEADER_BYTES + extra);
  out[0] = kind;
  new DataView(out.buffer).setUint32(1, seq >>> 0);
  return out;
}

/** One data message: header and bytes in one buffer (NATS sends one payload). */
export function dataMessage(kind: Kind, seq: number, bytes: Uint8Array, total?: number): Uint8Array {
  const head = total === undefined ? HEADER_BYTES : START_HEADER_BYTES;
  const out = new Uint8Array(head + bytes.byteLength);
  const view = new DataView(out.buffer);
  out[0] = kind;
  view.setUint32(1, seq >>> 0);
  if (total !== undefined) view.setUint32(5, total);
  out.set(bytes, head);
  return out;
}

export function creditMessage(seq: number, consumed: number): Uint8Array {
  const out = header(Kind.Credit, seq, 8);
  new DataView(out.buffer).setFloat64(HEADER_BYTES, consumed);
  return out;
}

export function closeMessage(seq: number, reason: CloseReason, text: string): Uint8Array {
  const body = new TextEncoder().encode(text.slice(0, 300));
  const out = header(Kind.Close, seq, 1 + body.byteLength);
  out[HEADER_BYTES] = reason;
  out.set(body, HEADER_BYTES + 1);
  return out;
}

/** The JSON body of the request that opens a connection, sent to the listener's subject. */
export interface OpenRequest {
  v: 1;
  /** The subject the client receives on. */
  inbox: string;
  /** The client's flow-control window (bytes of frame cost the listener may have in flight). */
  window: number;
  heartbeatMs: number;
}

export type OpenReply = { v: 1; ok: true; subject: string; window: number; heartbeatMs: number } | { v: 1; ok: false; reason: string };

const decoder = new TextDecoder();
const encoder = new TextEncoder();

export function encodeJson(value: OpenRequest | OpenReply): Uint8Array {
  return encoder.encode(JSON.stringify(value));
}

export function decodeJson(bytes: Uint8Array): unknown {
  try {
    return JSON.parse(decoder.decode(bytes)) as unknown;
  } catch {
    return undefined;
  }
}

export function decodeText(bytes: Uint8Array): string {
  return decoder.decode(bytes);
}
