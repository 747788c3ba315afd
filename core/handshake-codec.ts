import { CommunicationError, ErrorCode } from './errors.js';
import type { AuthRequest, AuthResponse } from './messages.js';
import { validateMessage } from './validate-message.js';

// The handshake is always JSON (UTF-8), whatever codec the session then uses, so that a client
// in any language can open a session with nothing but its standard library.

const utf8 = new TextDecoder('utf-8', { fatal: true });

export function encodeHandshake(message: AuthRequest | AuthResponse): Uint8Array {
  return Buffer.from(JSON.stringify(message), 'utf8');
}

export function decodeHandshake<T extends 'AuthRequest' | 'AuthResponse'>(
  frame: Uint8Array,
  expected: T,
): Extract<AuthRequest | AuthResponse, { type: T }> {
  let value: unknown;
  try {
    value = JSON.parse(utf8.decode(frame));
  } catch (err) {
    const detail = `Handshake frame is not UTF-8 JSON (${(err as Error).message}); the first frame of a session must be a JSON ${expected} (see docs/wire-format.md)`;
    throw new CommunicationError(ErrorCode.DecodeFailed, detail);
  }
  const message = validateMessage(value);
  if (message.type === expected) return message as Extract<AuthRequest | AuthResponse, { type: T }>;
  throw new CommunicationError(ErrorCode.DecodeFailed, `Expected ${expected} as the first frame of the session, got ${message.type}`);
}
