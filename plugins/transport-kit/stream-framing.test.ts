import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { CommunicationError, ErrorCode } from 'spear-comm';
import { LengthPrefixDecoder, encodeFrameHeader, writeFrameHeader } from 'spear-comm/transport-kit';

function encodeStream(frames: Uint8Array[]): Uint8Array {
  const out = new Uint8Array(frames.reduce((n, f) => n + 4 + f.byteLength, 0));
  let at = 0;
  for (const frame of frames) {
    writeFrameHeader(out, at, frame.byteLength);
    out.set(frame, at + 4);
    at += 4 + frame.byteLength;
  }
  return out;
}

/** Cuts `bytes` at the given positions (taken modulo its length), in order. */
function chunk(bytes: Uint8Array, cuts: number[]): Uint8Array[] {
  const points = [...new Set(cuts.map((c) => (bytes.byteLength === 0 ? 0 : c % (bytes.byteLength + 1))))].sort((a, b) => a - b);
  const chunks: Uint8Array[] = [];
  let from = 0;
  for (const point of [...points, bytes.byteLength]) {
    if (point > from) chunks.push(bytes.slice(from, point)); // slice: each chunk its own buffer, as sockets deliver them
    from = Math.max(from, point);
  }
  return chunks;
}

function decoder(maxFrameSize: number, frames: Uint8Array[] = []): LengthPrefixDecoder {
  return new LengthPrefixDecoder({ maxFrameSize, onFrame: (f) => frames.push(f) });
}

describe('frame header', () => {
  it('is the length as 4 bytes big-endian', () => {
    expect([...encodeFrameHeader(0)]).toEqual([0, 0, 0, 0]);
    expect([...encodeFrameHeader(0x01020304)]).toEqual([1, 2, 3, 4]);
    expect([...encodeFrameHeader(0xffffffff)]).toEqual([255, 255, 255, 255]);
  });

  it('refuses lengths the prefix cannot hold', () => {
    expect(() => encodeFrameHeader(2 ** 32)).toThrow(expect.objectContaining({ code: ErrorCode.FrameTooLarge }));
    expect(() => encodeFrameHeader(-1)).toThrow(CommunicationError);
  });
});

describe('LengthPrefixDecoder', () => {
  it('delivers the same frames, in order, however the stream is chunked (property)', () => {
    fc.assert(
      fc.property(fc.array(fc.uint8Array({ maxLength: 300 }), { maxLength: 25 }), fc.array(fc.nat(), { maxLength: 40 }), (frames, cuts) => {
        const got: Uint8Array[] = [];
        const d = decoder(300, got);
        for (const c of chunk(encodeStream(frames), cuts)) d.push(c);
        expect(got.map((f) => [...f])).toEqual(frames.map((f) => [...f]));
        expect(d.midFrame).toBe(false);
      }),
      { numRuns: 500 },
    );
  });

  it('hands out frames that lie within one chunk as views of it, and copies a split frame once, into a buffer of its exact size (property)', () => {
    fc.assert(
      fc.property(
        fc.array(fc.uint8Array({ minLength: 1, maxLength: 200 }), { minLength: 1, maxLength: 10 }),
        fc.array(fc.nat(), { maxLength: 10 }),
        (frames, cuts) => {
          const chunks = chunk(encodeStream(frames), cuts);
          const got: Uint8Array[] = [];
          const d = decoder(1000, got);
          for (const c of chunks) d.push(c);
          for (const frame of got) {
            const inChunk = chunks.some((c) => c.buffer === frame.buffer);
            if (!inChunk) expect(frame.buffer.byteLength).toBe(frame.byteLength);
          }
          // With the whole stream in one chunk, nothing is copied at all.
          const whole = encodeStream(frames);
          const views: Uint8Array[] = [];
          decoder(1000, views).push(whole);
          expect(views.every((f) => f.buffer === whole.buffer)).toBe(true);
        },
      ),
    );
  });

  it('delivers zero-length frames, and a header split byte by byte', () => {
    const got: Uint8Array[] = [];
    const d = decoder(10, got);
    const stream = encodeStream([new Uint8Array(0), Uint8Array.of(7, 8), new Uint8Array(0)]);
    for (const byte of stream) d.push(Uint8Array.of(byte));
    expect(got.map((f) => [...f])).toEqual([[], [7, 8], []]);
  });

  it('accepts a frame of exactly maxFrameSize and refuses maxFrameSize + 1 at its header', () => {
    const ok: Uint8Array[] = [];
    decoder(1024, ok).push(encodeStream([new Uint8Array(1024).fill(9)]));
    expect(ok[0]?.byteLength).toBe(1024);

    const d = decoder(1024);
    // Only the header: the refusal must not wait for (or buffer) the body.
    expect(() => d.push(encodeFrameHeader(1025))).toThrow(
      expect.objectContaining({ code: ErrorCode.FrameTooLarge, message: expect.stringContaining('1025 bytes, over the limit of 1024') }),
    );
    // A decoder that refused a frame stays refused.
    expect(() => d.push(new Uint8Array(1))).toThrow(expect.objectContaining({ code: ErrorCode.FrameTooLarge }));
  });

  it('refuses an oversized frame without allocating memory for it', () => {
    const max = 64 * 1024 * 1024;
    const d = decoder(max);
    const before = process.memoryUsage().arrayBuffers;
    expect(() => d.push(Uint8Array.of(...encodeFrameHeader(max + 1), 1, 2, 3))).toThrow(
      expect.objectContaining({ code: ErrorCode.FrameTooLarge }),
    );
    expect(process.memoryUsage().arrayBuffers - before).toBeLessThan(max / 4);
  });

  it('tells how much of an incomplete frame it holds', () => {
    const d = decoder(100);
    d.push(Uint8Array.of(0, 0));
    expect([d.midFrame, d.partialBytes, d.partialFrameSize]).toEqual([true, 2, undefined]);
    d.push(Uint8Array.of(0, 10, 1, 2, 3));
    expect([d.midFrame, d.partialBytes, d.partialFrameSize]).toEqual([true, 7, 10]);
  });
});
