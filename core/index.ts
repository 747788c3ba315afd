// spear-comm's public entry. Plugins and codecs import only from here.
export { container, inject, injectable } from './di.js';
export type { DependencyContainer, InjectionToken } from './di.js';
export { CommunicationError, ErrorCode, RETRYABLE_CODES, abortedError, isRetryable, toCommunicationError } from './errors.js';
export type { CommunicationErrorOptions } from './errors.js';
export { Messages, MESSAGE_TYPES, RUNTIME_TYPES, STREAM_MESSAGE_TYPES, isStreamMessage } from './messages.js';
export type {
  Ack,
  AuthRequest,
  AuthResponse,
  ExecutionError,
  ExecutionRequest,
  ExecutionResponse,
  HealthCheck,
  Heartbeat,
  MessageInit,
  MessageType,
  Metadata,
  RuntimeInstanceId,
  RuntimeMessage,
  RuntimeType,
  StreamCancel,
  StreamChunk,
  StreamCredit,
  StreamEnd,
  StreamMessage,
  StreamOpen,
} from './messages.js';
export { validateMessage } from './validate-message.js';
export type { ValidateOptions } from './validate-message.js';
export { DEFAULT_MAX_FRAME_SIZE } from './transport.js';
export type {
  FrameConnection,
  FrameListener,
  FrameSink,
  TlsOptions,
  TransportCapabilities,
  TransportConnectOptions,
  TransportListenOptions,
} from './transport.js';
export {
  Codec,
  Transport,
  registerCodec,
  registerTransport,
  registeredCodecs,
  registeredTransports,
  markTransportUnavailable,
  unavailableTransports,
  unregisterCodec,
  unregisterTransport,
} from './registry.js';
export type { CodecEntry, CodecMeta, PluginClass, TransportEntry, TransportMeta, UnavailableTransport } from './registry.js';
export { KERNEL, LOGGER } from './tokens.js';
export { consoleLogger, silentLogger } from './logger.js';
export type { Logger } from './logger.js';
export { Emitter } from './events.js';
export type { EmitterListener } from './events.js';
export { LatencyRecorder } from './latency.js';
export type { LatencySummary } from './latency.js';
export { DEFAULT_MAX_CONCURRENT_REQUESTS, receiveUntilClosed } from './channel.js';
export type { ChannelEvents, ChannelStats, CommunicationChannel, RequestHandler, RequestHandlerOptions, WaitOptions } from './channel.js';
export { encodeHandshake, decodeHandshake } from './handshake-codec.js';
export { generateSecret, secretsEqual } from './secret.js';
export { ExecutionErrorCode, invoke, serve } from './serve.js';
export type { FunctionHandler, HandlerContext, Handlers, InvokeOptions, ServeOptions } from './serve.js';
export { invokeStream } from './stream-invoke.js';
export type { InvokeStreamOptions, StreamSource } from './stream-invoke.js';
export { isStreaming, streaming } from './stream-serve.js';
export type { StreamContext, StreamHandlerFunction, StreamingHandler } from './stream-serve.js';
export { STREAM_CHUNK_BYTES, STREAM_WINDOW_BYTES } from './stream-mux.js';
export { DEFAULT_MAX_CONNECTIONS, Listener } from './listener.js';
export type { ListenerEvents } from './listener.js';
export { BUILTIN_PLUGINS, Kernel, createKernel } from './kernel.js';
export type { ConnectOptions, KernelOptions, ListenOptions, UnavailablePlugin } from './kernel.js';
export { DEFAULT_FRAME_TIMEOUT_MS } from './kernel.js';
export { PEER_TEXT_LIMIT, clipPeerText, quotePeerText } from './peer-text.js';
export { HANDSHAKE_MAX_FRAME_SIZE } from './session.js';
