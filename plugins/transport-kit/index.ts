// spear-comm/transport-kit: the building blocks of a transport plugin — length-prefix framing,
// stream connection/connect/server helpers, and the inbox for message-based transports.
// The built-in plugins use this entry exactly as a third-party plugin would.
export { FRAME_HEADER_BYTES, LengthPrefixDecoder, MAX_WIRE_FRAME_SIZE, encodeFrameHeader, writeFrameHeader } from './stream-framing.js';
export type { LengthPrefixDecoderOptions } from './stream-framing.js';
export { StreamFrameConnection } from './stream-connection.js';
export type { FrameStream, StreamFrameConnectionOptions } from './stream-connection.js';
export { whenSocketConnected } from './stream-connect.js';
export type { SocketConnectOptions } from './stream-connect.js';
export { OpenListeners, listenStreamServer } from './stream-server.js';
export type { StreamServerOptions } from './stream-server.js';
export { FrameInbox } from './frame-inbox.js';
export type { PausableSource } from './frame-inbox.js';
export {
  addressInUseError,
  closedError,
  connectAbortedError,
  connectError,
  connectTimeoutError,
  frameTooLargeError,
  invalidOptionError,
  isUntrustedCertificate,
  listenError,
  refusedError,
  socketConnectError,
  tlsHandshakeError,
  untrustedCertificateError,
  clientCertificateRefusal,
} from './errors.js';
export { loadOptional } from './optional-library.js';
export type { OptionalLibraryInfo } from './optional-library.js';
