import type { RuntimeMessage } from './messages.js';

/**
 * Turns RuntimeMessages into bytes and back. `decode` throws `CommunicationError(DecodeFailed)`
 * for anything that is not a valid message. Register an implementation with `@Codec({ name, contentType })`.
 */
export interface Codec {
  readonly name: string;
  readonly contentType: string;
  encode(message: RuntimeMessage): Uint8Array;
  decode(bytes: Uint8Array): RuntimeMessage;
  /** Optional: `encode(message)` as parts that concatenate to it (a head, then a large byte field as is), or undefined. */
  encodeParts?(message: RuntimeMessage): Uint8Array[] | undefined;
}
