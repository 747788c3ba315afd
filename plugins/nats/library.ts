import { CommunicationError, ErrorCode } from 'spear-comm';

import { NATS_PACKAGE } from './package-name.js';

type NatsLibrary = typeof import('@nats-io/transport-node');

let library: NatsLibrary | undefined;
let missing: string | undefined;
try {
  library = await import('@nats-io/transport-node');
} catch (err) {
  missing = err instanceof Error ? err.message : String(err);
}

/** The NATS client library, or `UnsupportedTransport` naming the package to install. */
export function natsLibrary(url: URL): NatsLibrary {
  if (library) return library;
  throw new CommunicationError(
    ErrorCode.UnsupportedTransport,
    `${url.protocol}// needs the NATS client library: npm install ${NATS_PACKAGE} (it could not be loaded: ${missing})`,
  );
}
