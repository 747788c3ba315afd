import { CommunicationError, ErrorCode } from 'spear-comm';

/** Bytes of the length prefix in front of every frame on a stream transport (docs/wire-format.md). */
export const FRAME_HEADER_BYTES = 4;

/** The largest length a 4-byte unsigned prefix can state. */
export const MAX_WIRE_FRAME_SIZE = 0xffff_ffff;

/** Writes `length` as the 4-byte big-endian frame header at `offset` of `target`. */
export function writeFrameHeader(target: Uint8Array, offset: number, length: number): void {
  if (!Number.isInteger(length) || length < 0 || length > MAX_WIRE_FRAME_SIZE) {
    throw new CommunicationError(
      ErrorCode.FrameTooLarge,
      `A frame of ${length} bytes cannot be sent on a stream transport: its 4-byte length prefix holds at most ${MAX_WIRE_FRAME_SIZE}`,
    );
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

function checkLimit(maxFrameSize: number): void {
  if (!Number.isInteger(maxFrameSize) || maxFrameSize < 0) {
    throw new TypeError(`maxFrameSize must be a non-negative integer, got ${maxFrameSize}`);
  }
}

export interface LengthPrefixDecoderOptions {
  /** A stated length above this fails with `FrameTooLarge` as soon as the header is read, before anything is allocated. */
  maxFrameSize: number;
  /** Receives each whole frame, in order. The decoder keeps no reference to it afterwards. */
  onFrame(frame: Uint8Array): void;
  /** Who sends these frames, for error messages (e.g. `tcp://127.0.0.1:7000`). */
  source?: string;
}

/** Pieces of a split frame smaller than this are copied into a staging buffer instead of kept by reference. */
const MIN_KEPT_PIECE = 4 * 1024;
/** Size of that staging buffer (smaller when the rest of the frame is smaller). */
const STAGING_BYTES = 16 * 1024;

/**
 * Cuts a byte stream into length-prefixed frames, over arbitrary chunk boundaries.
 *
 * A frame that lies within one chunk is delivered as a view of that chunk (no copy). A frame
 * that spans chunks is held as the pieces received so far and assembled, once its last byte is
 * in, into one buffer of exactly its size. Memory for an incomplete frame therefore grows with
 * the bytes the peer actually sent, never with the length its header claims: a peer that
 * announces 16 MiB and sends 10 bytes costs 10 bytes (plus at most one small staging buffer
 * that coalesces tiny pieces, so a byte-by-byte trickle does not cost an object per byte).
 */
export class LengthPrefixDecoder {
  private maxFrameSize: number;
  /** Why the current limit applies, for the error (set with the limit). */
  private limitReason: string | undefined;
  private readonly onFrame: (frame: Uint8Array) => void;
  private readonly source: string;
  private readonly header = new Uint8Array(FRAME_HEADER_BYTES);
  private headerFilled = 0;
  /** Stated length of the incomplete frame's body; -1 between frames. */
  private bodyLength = -1;
  private bodyFilled = 0;
  /** Received pieces of the incomplete frame, in order; `staging` (if any) comes after them. */
  private pieces: Uint8Array[] = [];
  private staging: Uint8Array | undefined;
  private stagingFilled = 0;
  private failure: CommunicationError | undefined;

  constructor(options: LengthPrefixDecoderOptions) {
    checkLimit(options.maxFrameSize);
    this.maxFrameSize = options.maxFrameSize;
    this.onFrame = options.onFrame;
    this.source = options.source ?? 'the peer';
  }

  /**
   * Changes the limit for frames whose header has not been read yet; `reason` says in the error
   * why this limit applies (e.g. "before the session is authenticated").
   */
  setMaxFrameSize(maxFrameSize: number, reason?: string): void {
    checkLimit(maxFrameSize);
    this.maxFrameSize = maxFrameSize;
    this.limitReason = reason;
  }

  /** True while part of a frame (or of its header) has been received but not the rest. */
  get midFrame(): boolean {
    return this.headerFilled > 0 || this.bodyLength >= 0;
  }

  /** Bytes received of the incomplete frame, header included (0 between frames). */
  get partialBytes(): number {
    return this.bodyLength >= 0 ? FRAME_HEADER_BYTES + this.bodyFilled : this.headerFilled;
  }

  /** The length the incomplete frame's header stated, when the header is complete. */
  get partialFrameSize(): number | undefined {
    return this.bodyLength >= 0 ? this.bodyLength : undefined;
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
      if (this.bodyLength >= 0) {
        const n = Math.min(this.bodyLength - this.bodyFilled, end - offset);
        this.keep(chunk, offset, n);
        offset += n;
        if (this.bodyFilled === this.bodyLength) this.onFrame(this.assemble());
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
          this.limitReason === undefined
            ? `${this.source} announced a frame of ${length} bytes, over the limit of ${this.maxFrameSize} bytes; connection closed. Raise maxFrameSize on the receiving side if such frames are expected`
            : `${this.source} announced a frame of ${length} bytes, over the limit of ${this.maxFrameSize} bytes ${this.limitReason}; connection closed`,
        );
        throw this.failure;
      }
      if (end - offset >= length) {
        // A plain Uint8Array view, even of a Buffer chunk: frames are bytes, not Buffers.
        const frame = new Uint8Array(chunk.buffer, chunk.byteOffset + offset, length);
        offset += length;
        this.onFrame(frame);
      } else {
        // Nothing is allocated for the body yet: its pieces are kept as they arrive.
        this.bodyLength = length;
        this.bodyFilled = 0;
      }
    }
  }

  /** Keeps `n` bytes of `chunk` from `offset` as the next piece of the incomplete frame. */
  private keep(chunk: Uint8Array, offset: number, n: number): void {
    this.bodyFilled += n;
    if (n >= MIN_KEPT_PIECE) {
      this.flushStaging();
      // Chunks are handed over by the stream and never reused, so a view is safe to keep.
      this.pieces.push(chunk.subarray(offset, offset + n));
      return;
    }
    while (n > 0) {
      if (!this.staging) {
        // Sized by what is still missing, so it never exceeds the frame (or what the peer will send for it).
        this.staging = new Uint8Array(Math.min(STAGING_BYTES, n + this.bodyLength - this.bodyFilled));
        this.stagingFilled = 0;
      }
      const m = Math.min(n, this.staging.byteLength - this.stagingFilled);
      this.staging.set(chunk.subarray(offset, offset + m), this.stagingFilled);
      this.stagingFilled += m;
      offset += m;
      n -= m;
      if (this.stagingFilled === this.staging.byteLength) this.flushStaging();
    }
  }

  private flushStaging(): void {
    if (this.staging && this.stagingFilled > 0) this.pieces.push(this.staging.subarray(0, this.stagingFilled));
    this.staging = undefined;
    this.stagingFilled = 0;
  }

  /** Joins the pieces of the now complete frame into one buffer of its exact size and resets for the next. */
  private assemble(): Uint8Array {
    this.flushStaging();
    const length = this.bodyLength;
    // Filled completely before it is delivered, so the uninitialised allocation never leaks.
    const storage = Buffer.allocUnsafeSlow(length);
    const frame = new Uint8Array(storage.buffer, storage.byteOffset, length);
    let at = 0;
    for (const piece of this.pieces) {
      frame.set(piece, at);
      at += piece.byteLength;
    }
    this.pieces = [];
    this.bodyLength = -1;
    this.bodyFilled = 0;
    return frame;
  }
}
