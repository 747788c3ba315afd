export const ErrorCode = {
  ChannelClosed: 'ChannelClosed',
  Timeout: 'Timeout',
  UnsupportedTransport: 'UnsupportedTransport',
  ChannelCreationFailed: 'ChannelCreationFailed',
  FrameTooLarge: 'FrameTooLarge',
  DecodeFailed: 'DecodeFailed',
  AuthFailed: 'AuthFailed',
  ConnectionRefused: 'ConnectionRefused',
  CircuitOpen: 'CircuitOpen',
  RemoteError: 'RemoteError',
} as const;

export type ErrorCode = (typeof ErrorCode)[keyof typeof ErrorCode];

export interface CommunicationErrorOptions {
  cause?: unknown;
  /** For `RemoteError`: the code the remote handler reported. */
  remoteCode?: string;
}

/** The one error type spear-comm throws; `code` says what went wrong, `message` what to do. */
export class CommunicationError extends Error {
  override readonly name = 'CommunicationError';
  readonly code: ErrorCode;
  readonly remoteCode: string | undefined;

  constructor(code: ErrorCode, message: string, options: CommunicationErrorOptions = {}) {
    super(message, options.cause === undefined ? undefined : { cause: options.cause });
    this.code = code;
    this.remoteCode = options.remoteCode;
  }

  static is(value: unknown, code?: ErrorCode): value is CommunicationError {
    return value instanceof CommunicationError && (code === undefined || value.code === code);
  }
}

/** Wraps any thrown value as a CommunicationError, keeping one that already is. */
export function toCommunicationError(err: unknown, code: ErrorCode, context: string): CommunicationError {
  if (err instanceof CommunicationError) return err;
  const detail = err instanceof Error ? err.message : String(err);
  return new CommunicationError(code, `${context}: ${detail}`, { cause: err });
}
