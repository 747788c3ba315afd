import { isIP } from 'node:net';
import type { ConnectionOptions, TlsOptions as NodeTlsServerOptions } from 'node:tls';
import type { CommunicationError, TlsOptions } from 'spear-comm';
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
  return { cert: tls.cert, key: tls.key, ...(tls.ca !== undefined ? { ca: tls.ca } : {}) };
}

/** The error for a failed TLS connect; undefined leaves plain socket errors (refused, unreachable) to the default. */
export function describeTlsError(error: NodeJS.ErrnoException, address: string): CommunicationError | undefined {
  const code = error.code ?? '';
  if (isUntrustedCertificate(code)) return untrustedCertificateError(address, error, `${code}: ${error.message}`);
  if (code.startsWith('ERR_SSL') || code.startsWith('ERR_TLS') || code === 'ECONNRESET') {
    return tlsHandshakeError(address, `${code}: ${error.message}`, error);
  }
  return undefined;
}
