import { readFileSync, writeFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import type { Codec, RuntimeMessage } from 'spear-comm';
import { CborCodec } from 'spear-comm/codecs/cbor';
import { JsonCodec } from 'spear-comm/codecs/json';
import { ProtobufCodec } from 'spear-comm/codecs/protobuf';

/** Every built-in codec: the shared tests run against each. */
export const CODECS: readonly Codec[] = [new JsonCodec(), new CborCodec(), new ProtobufCodec()];

export const FIXTURES_DIR = fileURLToPath(new URL('../fixtures/', import.meta.url));

export function toHex(bytes: Uint8Array): string {
  return Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength).toString('hex');
}

export function fromHex(hex: string): Uint8Array {
  return new Uint8Array(Buffer.from(hex.replace(/\s+/g, ''), 'hex'));
}

export function fixturePath(name: string, codec: string): string {
  return `${FIXTURES_DIR}${name}.${codec}.hex`;
}

/** A golden vector's bytes, from its hex file (whitespace is ignored). */
export function readFixture(name: string, codec: string): Uint8Array {
  return fromHex(readFileSync(fixturePath(name, codec), 'utf8'));
}

/** Writes a vector as lowercase hex, 32 bytes a line. */
export function writeFixture(name: string, codec: string, bytes: Uint8Array): void {
  const lines = toHex(bytes).match(/.{1,64}/g) ?? [];
  writeFileSync(fixturePath(name, codec), `${lines.join('\n')}\n`);
}

/**
 * What a round trip must preserve, in a form toStrictEqual compares quickly: -0 becomes 0 (json
 * and cbor write it as 0), and bytes become their hex, tagged with whether they were a plain
 * Uint8Array (a Buffer or an Array is a different value here).
 */
export function comparable(message: RuntimeMessage): unknown {
  return normalise(message);
}

function normalise(value: unknown): unknown {
  if (typeof value === 'number') return Object.is(value, -0) ? 0 : value;
  if (value instanceof Uint8Array)
    return { [Object.getPrototypeOf(value) === Uint8Array.prototype ? 'Uint8Array' : value.constructor.name]: toHex(value) };
  if (typeof value !== 'object' || value === null) return value;
  const out: Record<string, unknown> = {};
  for (const [key, entry] of Object.entries(value)) {
    if (entry === undefined) continue;
    Object.defineProperty(out, key, { value: normalise(entry), enumerable: true, writable: true, configurable: true });
  }
  return out;
}
