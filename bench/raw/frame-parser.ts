/**
 * Splits a byte stream into frames of a 4-byte big-endian length plus that many bytes: what a
 * careful hand-written baseline does. Frames are views into the received chunk (no copy) unless
 * a frame spans chunks, which are then joined once, when the frame is complete.
 */
export class FrameParser {
  private pending: Buffer[] = [];
  private pendingBytes = 0;
  /** Bytes needed before the pending data can yield a frame (4 until the header is known). */
  private wanted = 0;

  constructor(
    private readonly onFrame: (frame: Buffer) => void,
    private readonly maxFrameSize: number,
  ) {}

  push(chunk: Buffer): void {
    if (this.pendingBytes > 0) {
      this.pending.push(chunk);
      this.pendingBytes += chunk.length;
      if (this.pendingBytes < this.wanted) return;
      chunk = Buffer.concat(this.pending, this.pendingBytes);
      this.pending = [];
      this.pendingBytes = 0;
    }
    let offset = 0;
    while (chunk.length - offset >= 4) {
      const length = chunk.readUInt32BE(offset);
      if (length > this.maxFrameSize) throw new Error(`frame of ${length} bytes exceeds the ${this.maxFrameSize}-byte limit`);
      if (chunk.length - offset - 4 < length) break;
      this.onFrame(chunk.subarray(offset + 4, offset + 4 + length));
      offset += 4 + length;
    }
    if (offset < chunk.length) {
      const rest = chunk.subarray(offset);
      this.pending = [rest];
      this.pendingBytes = rest.length;
      this.wanted = rest.length >= 4 ? 4 + rest.readUInt32BE(0) : 4;
    }
  }
}

/** Small frames are copied behind their header (one buffer); large ones go out as header + payload. */
export const COPY_LIMIT = 16 * 1024;

export function frameHeader(length: number): Buffer {
  const header = Buffer.allocUnsafe(4);
  header.writeUInt32BE(length, 0);
  return header;
}

export function framed(payload: Uint8Array): Buffer {
  const out = Buffer.allocUnsafe(4 + payload.byteLength);
  out.writeUInt32BE(payload.byteLength, 0);
  out.set(payload, 4);
  return out;
}
