import { isIP } from 'node:net';
import type { ConnectionOptions, TlsOptions as NodeTlsServerOptions, TLSSocket } from 'node:tls';
import { CommunicationError, ErrorCode, type TlsOptions } from 'spear-comm';

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
    throw new CommunicationError(
      ErrorCode.ChannelCreationFailed,
      `Listening on ${address} needs a certificate: pass tls: { cert, key } (PEM) to listen(), or use a tcp:// URL`,
    );
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

// OpenSSL's verification failures (node reports them by these codes), plus node's host name check.
const UNTRUSTED = /CERT|SELF_SIGNED|UNABLE_TO_(GET|VERIFY)|HOSTNAME_MISMATCH/;

/** Wording for a failed TLS connect; undefined leaves plain socket errors (refused, unreachable) to the default. */
export function describeTlsError(error: NodeJS.ErrnoException, address: string): CommunicationError | undefined {
  const refused = describeClientCertRefused(error, address);
  if (refused) return refused;
  const code = error.code ?? '';
  if (UNTRUSTED.test(code)) {
    return new CommunicationError(
      ErrorCode.AuthFailed,
      `${address} presented a TLS certificate this client does not trust (${code}: ${error.message}). Pass the server's CA certificate (or its self-signed certificate) as tls.ca, and connect by a name or address the certificate lists`,
      { cause: error },
    );
  }
  if (code.startsWith('ERR_SSL') || code.startsWith('ERR_TLS') || code === 'ECONNRESET') {
    return new CommunicationError(
      ErrorCode.ChannelCreationFailed,
      `TLS handshake with ${address} failed (${code}: ${error.message}); is a tls:// listener there?`,
      { cause: error },
    );
  }
  return undefined;
}
