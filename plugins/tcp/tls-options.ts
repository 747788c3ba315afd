import { isIP } from 'node:net';
import type { ConnectionOptions, TlsOptions as NodeTlsServerOptions } from 'node:tls';
import { CommunicationError, ErrorCode, type TlsOptions } from 'spear-comm';
import { invalidOptionError, isUntrustedCertificate, tlsHandshakeError, untrustedCertificateError } from 'spear-comm/transport-kit';

/** node:tls client options from spear-comm's TlsOptions; certificates are verified unless told otherwise. */
export function tlsClientOptions(tls: TlsOptions | undefined, host: string): ConnectionOptions {
  const servername = tls?.servername ?? (isIP(host) ? undefined : host);
  return {
    ...(tls?.ca !== undefined ? { ca: tls.ca } : {}),
    ...(tls?.cert !== undefined ? { cert: tls.cert } : {}),
    ...(tls?.key !== undefined ? { key: tls.key } : {}),
    ...(servername !== undefined ? { servername } : {}),
    rejectUnauthorized: tls?.rejectUnauthorized ?? true,
  };
}

export function tlsServerOptions(tls: TlsOptions | undefined, address: string): NodeTlsServerOptions {
  if (!tls?.cert || !tls.key) {
    throw invalidOptionError(`Listening on ${address} needs a certificate: pass tls: { cert, key } (PEM) to listen(), or use a tcp:// URL`);
  }
  if (tls.requestCert && tls.ca === undefined) {
    throw new CommunicationError(
      ErrorCode.ChannelCreationFailed,
      `Listening on ${address} with requestCert needs tls.ca: the CA that signs the client certificates to accept`,
    );
  }
  return {
    cert: tls.cert,
    key: tls.key,
    ...(tls.ca !== undefined ? { ca: tls.ca } : {}),
    // Mutual TLS: every client is asked for a certificate; one without a certificate `ca` signed
    // completes TLS but its session is refused with AuthFailed (see clientCertificateRefusal).
    ...(tls.requestCert ? { requestCert: true, rejectUnauthorized: false } : {}),
  };
}

/**
 * The TLS alerts a listener sends when it refuses this client's certificate (none given, unknown
 * CA, expired...). Under TLS 1.3 they arrive after the client considers the handshake done, as
 * the first thing read from the socket.
 */
const CLIENT_CERT_REFUSED =
  /ALERT_(CERTIFICATE_REQUIRED|BAD_CERTIFICATE|UNKNOWN_CA|CERTIFICATE_UNKNOWN|UNSUPPORTED_CERTIFICATE|CERTIFICATE_EXPIRED|CERTIFICATE_REVOKED|ACCESS_DENIED|HANDSHAKE_FAILURE)/;

/** `AuthFailed` when `error` is the listener refusing this client's certificate; undefined otherwise. */
export function describeClientCertRefused(error: NodeJS.ErrnoException, address: string): CommunicationError | undefined {
  const code = error.code ?? '';
  if (!CLIENT_CERT_REFUSED.test(code)) return undefined;
  return new CommunicationError(
    ErrorCode.AuthFailed,
    `${address} refused this client's TLS certificate (${code}): the listener asks for one (mutual TLS); pass tls.cert and tls.key signed by a CA it trusts`,
    { cause: error },
  );
}

/** The error for a failed TLS connect; undefined leaves plain socket errors (refused, unreachable) to the default. */
export function describeTlsError(error: NodeJS.ErrnoException, address: string): CommunicationError | undefined {
  const refused = describeClientCertRefused(error, address);
  if (refused) return refused;
  const code = error.code ?? '';
  if (isUntrustedCertificate(code)) return untrustedCertificateError(address, error, `${code}: ${error.message}`);
  if (code.startsWith('ERR_SSL') || code.startsWith('ERR_TLS') || code === 'ECONNRESET') {
    return tlsHandshakeError(address, `${code}: ${error.message}`, error);
  }
  return undefined;
}
