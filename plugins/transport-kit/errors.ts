import type { TLSSocket } from 'node:tls';
import { CommunicationError, ErrorCode, abortedError } from 'spear-comm';

/**
 * The errors a transport reports, built in one place so that the same failure has the same code on
 * every transport (`docs/errors.md`). Every helper names the address the user wrote and
 * keeps the underlying error as `cause`. The built-in plugins use exactly these; a third-party
 * plugin should too.
 */

/** `ConnectionRefused`: nothing accepts at the address (or the listener turned the connection away). */
export function refusedError(address: string, detail?: string, cause?: unknown): CommunicationError {
  return new CommunicationError(
    ErrorCode.ConnectionRefused,
    `Connection refused by ${address}: ${detail ?? 'nothing is listening there. Start the listener first, or check the address'}`,
    cause === undefined ? {} : { cause },
  );
}

/** `Timeout`: the connection was not established within `timeoutMs`. */
export function connectTimeoutError(address: string, timeoutMs: number, detail?: string, cause?: unknown): CommunicationError {
  return new CommunicationError(
    ErrorCode.Timeout,
    `Could not connect to ${address} within ${timeoutMs} ms${detail ? ` (${detail})` : ''}; check that the address is reachable and a spear-comm listener runs there, or raise timeoutMs`,
    cause === undefined ? {} : { cause },
  );
}

/**
 * The caller's AbortSignal fired while connecting: `Aborted` with the signal's reason as `cause`
 * (`Timeout` when the reason is the TimeoutError of `AbortSignal.timeout()`).
 */
export function connectAbortedError(address: string, signal: AbortSignal): CommunicationError {
  return abortedError(signal, `Connecting to ${address}`);
}

/** `AuthFailed`: the peer's TLS certificate is not trusted by this side (or the other way round). */
export function untrustedCertificateError(address: string, cause?: unknown, detail?: string): CommunicationError {
  return new CommunicationError(
    ErrorCode.AuthFailed,
    `${address} presented a TLS certificate this side does not trust${detail ? ` (${detail})` : ''}. Pass the server's CA certificate (or its self-signed certificate) as tls.ca, and connect by a name or address the certificate lists`,
    cause === undefined ? {} : { cause },
  );
}

/** `AuthFailed`: the TLS handshake failed for another reason (e.g. the peer does not speak TLS). */
export function tlsHandshakeError(address: string, detail: string, cause?: unknown): CommunicationError {
  return new CommunicationError(
    ErrorCode.AuthFailed,
    `TLS handshake with ${address} failed (${detail}); is a TLS listener there, and do both sides use TLS?`,
    cause === undefined ? {} : { cause },
  );
}

/** `ChannelCreationFailed`: another listener already holds the address. */
export function addressInUseError(
  address: string,
  hint = 'the address is already in use; stop the other listener or choose another address',
  cause?: unknown,
): CommunicationError {
  return listenError(address, hint, cause);
}

/** `ChannelCreationFailed`: listening failed for a local reason (address taken, permissions, path too long…). */
export function listenError(address: string, reason: string, cause?: unknown): CommunicationError {
  return new CommunicationError(
    ErrorCode.ChannelCreationFailed,
    `Could not listen on ${address}: ${reason}`,
    cause === undefined ? {} : { cause },
  );
}

/** `ChannelCreationFailed`: connecting failed for a local reason (no route, host name unknown, permissions…). */
export function connectError(address: string, reason: string, cause?: unknown): CommunicationError {
  return new CommunicationError(
    ErrorCode.ChannelCreationFailed,
    `Could not connect to ${address}: ${reason}`,
    cause === undefined ? {} : { cause },
  );
}

/** `InvalidArgument`: the caller's URL or options cannot work (no port, TLS options on a plain scheme, a bad extra…). */
export function invalidOptionError(message: string): CommunicationError {
  return new CommunicationError(ErrorCode.InvalidArgument, message);
}

/** `FrameTooLarge`: a frame over a limit; `who` says whose limit (e.g. "this connection's", "the peer's"). */
export function frameTooLargeError(size: number | string, limit: number, who: string, detail?: string): CommunicationError {
  return new CommunicationError(
    ErrorCode.FrameTooLarge,
    `A frame of ${size} bytes exceeds ${who} limit of ${limit} bytes${detail ? ` ${detail}` : ''}`,
  );
}

/** `ChannelClosed`: the connection has ended (locally or by the peer). */
export function closedError(message: string, cause?: unknown): CommunicationError {
  return new CommunicationError(ErrorCode.ChannelClosed, message, cause === undefined ? {} : { cause });
}

// OpenSSL's verification failures (node reports them by these codes), plus node's host name check.
const UNTRUSTED_CERT = /CERT|SELF_SIGNED|UNABLE_TO_(GET|VERIFY)|HOSTNAME_MISMATCH|ALTNAME/;

/** Whether a node:tls / OpenSSL error code means the peer's certificate was not trusted. */
export function isUntrustedCertificate(code: string | undefined): boolean {
  return code !== undefined && UNTRUSTED_CERT.test(code);
}

/**
 * The CommunicationError for a failed socket connect (node:net, node:tls, or a library built on
 * them): refused, untrusted certificate, TLS failure, timeout, or a local failure.
 */
export function socketConnectError(error: NodeJS.ErrnoException, address: string): CommunicationError {
  const code = error.code ?? '';
  if (code === 'ECONNREFUSED') return refusedError(address, undefined, error);
  if (code === 'ETIMEDOUT')
    return new CommunicationError(ErrorCode.Timeout, `Connecting to ${address} timed out (${code})`, { cause: error });
  if (isUntrustedCertificate(code)) return untrustedCertificateError(address, error, `${code}: ${error.message}`);
  if (code.startsWith('ERR_SSL') || code.startsWith('ERR_TLS')) return tlsHandshakeError(address, `${code}: ${error.message}`, error);
  if (code === 'ENOTFOUND' || code === 'EAI_AGAIN')
    return connectError(address, `could not resolve its host (${code}); check the host name`, error);
  return connectError(address, error.message, error);
}

/**
 * Why a mutual-TLS listener refuses the session of a client whose certificate did not verify
 * (none given, another CA, expired...), or undefined for a verified one. The refusal reaches the
 * client as an AuthResponse with `success: false`, so it knows why (node would otherwise drop a
 * socket with an untrusted certificate without a TLS alert).
 */
export function clientCertificateRefusal(socket: TLSSocket, where: string): CommunicationError | undefined {
  if (socket.authorized) return undefined;
  const reason = socket.authorizationError ? String(socket.authorizationError) : 'no certificate';
  const none = !socket.getPeerCertificate()?.raw;
  return new CommunicationError(
    ErrorCode.AuthFailed,
    none
      ? `${where} requires a client certificate (mutual TLS) and this client presented none; pass tls.cert and tls.key signed by a CA the listener trusts`
      : `${where} does not trust this client's certificate (${reason}); use one signed by a CA the listener trusts (its tls.ca)`,
  );
}
