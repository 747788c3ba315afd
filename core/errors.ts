/**
 * The error codes: one meaning per code, the same on every transport.
 * `docs/errors.md` lists the situations that produce each.
 */
export const ErrorCode = {
  /** The caller's own mistake: bad options, an unknown codec name, a duplicate requestId. */
  InvalidArgument: 'InvalidArgument',
  /** The caller's AbortSignal fired; its reason is kept as `cause`. */
  Aborted: 'Aborted',
  /** No installed transport serves the URL's scheme (or its library is not installed). */
  UnsupportedTransport: 'UnsupportedTransport',
  /** Nothing accepts at the address, or the listener is full. */
  ConnectionRefused: 'ConnectionRefused',
  /** No connection or answer within the time given. */
  Timeout: 'Timeout',
  /** The handshake was refused either way: wrong token, codec not accepted, untrusted certificate. */
  AuthFailed: 'AuthFailed',
  /** listen/connect failed for a local reason: address taken, permissions, path too long. */
  ChannelCreationFailed: 'ChannelCreationFailed',
  /** The channel or connection ended, locally or by the peer. */
  ChannelClosed: 'ChannelClosed',
  /** A frame over the receiver's limit. */
  FrameTooLarge: 'FrameTooLarge',
  /** This side could not encode a message. */
  EncodeFailed: 'EncodeFailed',
  /** The peer sent bytes that do not decode. */
  DecodeFailed: 'DecodeFailed',
  /** The circuit breaker is open: the call was not tried. */
  CircuitOpen: 'CircuitOpen',
  /** The instance answered with a failure (`remoteCode` says which). */
  RemoteError: 'RemoteError',
} as const;

export type ErrorCode = (typeof ErrorCode)[keyof typeof ErrorCode];

/**
 * Whether trying again (later, or elsewhere) can succeed. Reconnect policies and pools retry only
 * these; the circuit breaker counts only these as failures of the peer. A caller's own mistake
 * (InvalidArgument, Aborted, an encode failure) and a peer's definite answer (AuthFailed,
 * FrameTooLarge, DecodeFailed, RemoteError) are never retried.
 */
export const RETRYABLE_CODES: ReadonlySet<ErrorCode> = new Set<ErrorCode>([
  ErrorCode.ConnectionRefused,
  ErrorCode.Timeout,
  ErrorCode.ChannelClosed,
  ErrorCode.CircuitOpen,
]);

export interface CommunicationErrorOptions {
  cause?: unknown;
  /** For `RemoteError`: the code the remote handler reported. */
  remoteCode?: string;
}

/**
 * Brand shared by every copy of spear-comm in a process (two installed versions, a plugin that
 * brings its own): `CommunicationError.is()` recognises errors from any of them, where
 * `instanceof` sees only its own copy's class.
 */
const BRAND = Symbol.for('spear-comm.CommunicationError');

/** The one error type spear-comm throws; `code` says what went wrong, `message` what to do. */
export class CommunicationError extends Error {
  override readonly name = 'CommunicationError';
  readonly code: ErrorCode;
  readonly remoteCode: string | undefined;
  /** Derived from `code` (see RETRYABLE_CODES): may the same call succeed if tried again? */
  readonly retryable: boolean;

  constructor(code: ErrorCode, message: string, options: CommunicationErrorOptions = {}) {
    super(message, options.cause === undefined ? undefined : { cause: options.cause });
    this.code = code;
    this.remoteCode = options.remoteCode;
    this.retryable = RETRYABLE_CODES.has(code);
  }

  /** @internal the cross-copy brand */
  get [BRAND](): true {
    return true;
  }

  /**
   * True for a CommunicationError from any copy of spear-comm, optionally with the given code.
   *
   * @example
   * try { await invoke(channel, 'fn', input); }
   * catch (e) { if (CommunicationError.is(e, ErrorCode.Timeout)) retryLater(); else throw e; }
   */
  static is(value: unknown, code?: ErrorCode): value is CommunicationError {
    return (
      typeof value === 'object' &&
      value !== null &&
      (value as { [BRAND]?: unknown })[BRAND] === true &&
      (code === undefined || (value as CommunicationError).code === code)
    );
  }
}

/** Whether `error` is a CommunicationError (from any copy) whose code says a retry can succeed. */
export function isRetryable(error: unknown): boolean {
  return CommunicationError.is(error) && error.retryable;
}

/** `RemoteError` for a failure the other side reported (`remoteCode` is its code); `what` names the call. */
export function remoteError(error: { code: string; message: string }, what: string): CommunicationError {
  return new CommunicationError(ErrorCode.RemoteError, `${what} failed: [${error.code}] ${error.message}`, { remoteCode: error.code });
}

/** The `{ code, message }` a failed call reports to its caller: a code the thrown value carries, else `HandlerError`. */
export function failureOf(err: unknown): { code: string; message: string } {
  const code = (err as { code?: unknown } | null)?.code;
  return { code: typeof code === 'string' ? code : 'HandlerError', message: err instanceof Error ? err.message : String(err) };
}

/** Wraps any thrown value as a CommunicationError, keeping one that already is. */
export function toCommunicationError(err: unknown, code: ErrorCode, context: string): CommunicationError {
  if (CommunicationError.is(err)) return err;
  const detail = err instanceof Error ? err.message : String(err);
  return new CommunicationError(code, `${context}: ${detail}`, { cause: err });
}

/**
 * The error for an AbortSignal that fired: `Aborted` with the signal's reason as `cause` — or
 * `Timeout` when the reason is a TimeoutError (`AbortSignal.timeout()`), since that is a deadline.
 */
export function abortedError(signal: AbortSignal, what: string): CommunicationError {
  const reason = signal.reason as unknown;
  const timedOut = reason instanceof Error && reason.name === 'TimeoutError';
  const code = timedOut ? ErrorCode.Timeout : ErrorCode.Aborted;
  return new CommunicationError(code, `${what} was ${timedOut ? 'timed out by its signal' : 'aborted'}`, { cause: reason });
}
