import { CommunicationError, ErrorCode } from './errors.js';

/** Bytes of the length prefix in front of every frame on a stream transport (DESIGN §5). */
export const FRAME_HEADER_BYTES = 4;

/** The largest length a 4-byte unsigned prefix can state. */
export const MAX_WIRE_FRAME_SIZE = 0xffff_ffff;

/** Writes `length` as the 4-byte big-endian frame header at `offset` of `target`. */
export function writeFrameHeader(target: Uint8Array, offset: number, length: number): void {
  if (!Number.isInteger(length) || length < 0 || length > MAX_WIRE_FRAME_SIZE) {
    throw new CommunicationError(ErrorCode.FrameTooLarge, `A frame of ${length} bytes cannot be sent on a stream transport: its 4-byte length prefix holds at most ${MAX_WIRE_FRAME_SIZE}`);
  }
  target[offset] = length >>> 24;
  target[offset + 1] = (length >>> 16) & 0xff;
  target[offset + 2] = (length >>> 8) & 0xff;
  target[offset + 3] = length & 0xff;
}

/** The 4-byte big-endian header that precedes a frame of `length` bytes. */
export function encodeFrameHeader(length: number): Uint8Array {
  const header = new Uint8Array(FRAME_HEADER_BYTES);
  writeFrameHeader(header, 0, length);
  return header;
}

function readLength(bytes: Uint8Array, offset: number): number {
  return bytes[offset]! * 0x100_0000 + ((bytes[offset + 1]! << 16) | (bytes[offset + 2]! << 8) | bytes[offset + 3]!);
}

export interface LengthPrefixDecoderOptions {
  /** A stated length above this fails with `FrameTooLarge` as soon as the header is read, before anything is allocated. */
  maxFrameSize: number;
  /** Receives each whole frame, in order. The decoder keeps no reference to it afterwards. */
  onFrame(frame: Uint8Array): void;
  /** Who sends these frames, for error messages (e.g. `tcp://127.0.0.1:7000`). */
  source?: string;
}

/**
 * Cuts a byte stream into length-prefixed frames, over arbitrary chunk boundaries.
 *
 * A frame that lies within one chunk is delivered as a view of that chunk (no copy); a frame
 * that spans chunks is assembled in one buffer of exactly its size, allocated once its header
 * has been read and checked. Nothing else is buffered but the at most 3 bytes of a split header.
 */
export class LengthPrefixDecoder {
  private readonly maxFrameSize: number;
  private readonly onFrame: (frame: Uint8Array) => void;
  private readonly source: string;
  private readonly header = new Uint8Array(FRAME_HEADER_BYTES);
  private headerFilled = 0;
  private body: Uint8Array | undefined;
  private bodyFilled = 0;
  private failure: CommunicationError | undefined;

  constructor(options: LengthPrefixDecoderOptions) {
    if (!Number.isInteger(options.maxFrameSize) || options.maxFrameSize < 0) {
      throw new TypeError(`maxFrameSize must be a non-negative integer, got ${options.maxFrameSize}`);
    }
    this.maxFrameSize = options.maxFrameSize;
    this.onFrame = options.onFrame;
    this.source = options.source ?? 'the peer';
  }

  /** True while part of a frame (or of its header) has been received but not the rest. */
  get midFrame(): boolean {
    return this.headerFilled > 0 || this.body !== undefined;
  }

  /** Bytes received of the incomplete frame, header included (0 between frames). */
  get partialBytes(): number {
    return this.body ? FRAME_HEADER_BYTES + this.bodyFilled : this.headerFilled;
  }

  /** The length the incomplete frame's header stated, when the header is complete. */
  get partialFrameSize(): number | undefined {
    return this.body?.byteLength;
  }

  /**
   * Feeds the next chunk of the stream; whole frames go to `onFrame` before this returns.
   * Throws `FrameTooLarge` for a frame over the limit; the decoder is unusable afterwards.
   */
  push(chunk: Uint8Array): void {
    if (this.failure) throw this.failure;
    const end = chunk.byteLength;
    let offset = 0;
    while (offset < end) {
      const body = this.body;
      if (body) {
        const n = Math.min(body.byteLength - this.bodyFilled, end - offset);
        body.set(chunk.subarray(offset, offset + n), this.bodyFilled);
        this.bodyFilled += n;
        offset += n;
        if (this.bodyFilled === body.byteLength) {
          this.body = undefined;
          this.bodyFilled = 0;
          this.onFrame(body);
        }
        continue;
      }
      let length: number;
      if (this.headerFilled === 0 && end - offset >= FRAME_HEADER_BYTES) {
        length = readLength(chunk, offset);
        offset += FRAME_HEADER_BYTES;
      } else {
        const n = Math.min(FRAME_HEADER_BYTES - this.headerFilled, end - offset);
        this.header.set(chunk.subarray(offset, offset + n), this.headerFilled);
        this.headerFilled += n;
        offset += n;
        if (this.headerFilled < FRAME_HEADER_BYTES) return;
        this.headerFilled = 0;
        length = readLength(this.header, 0);
      }
      if (length > this.maxFrameSize) {
        this.failure = new CommunicationError(
          ErrorCode.FrameTooLarge,
          `${this.source} announced a frame of ${length} bytes, over the limit of ${this.maxFrameSize} bytes; connection closed. Raise maxFrameSize on the receiving side if such frames are expected`,
        );
        throw this.failure;
      }
      if (end - offset >= length) {
        // A plain Uint8Array view, even of a Buffer chunk: frames are bytes, not Buffers.
        const frame = new Uint8Array(chunk.buffer, chunk.byteOffset + offset, length);
        offset += length;
        this.onFrame(frame);
      } else {
        // Filled completely before it is delivered, so the uninitialised allocation never leaks.
        const storage = Buffer.allocUnsafeSlow(length);
        this.body = new Uint8Array(storage.buffer, storage.byteOffset, length);
      }
    }
  }
}
