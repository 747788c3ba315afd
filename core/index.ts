// spear-comm's public entry. Plugins and codecs import only from here.
export { container, inject, injectable } from './di.js';
export type { DependencyContainer, InjectionToken } from './di.js';
export { CommunicationError, ErrorCode, toCommunicationError } from './errors.js';
export type { CommunicationErrorOptions } from './errors.js';
export { Messages, MESSAGE_TYPES, RUNTIME_TYPES, isResponse } from './messages.js';
export type {
  Ack, AuthRequest, AuthResponse, ExecutionError, ExecutionRequest, ExecutionResponse, HealthCheck, Heartbeat,
  MessageType, Metadata, RuntimeInstanceId, RuntimeMessage, RuntimeType,
} from './messages.js';
export { validateMessage } from './validate-message.js';
export type { ValidateOptions } from './validate-message.js';
export { DEFAULT_MAX_FRAME_SIZE } from './transport.js';
export type {
  FrameConnection, FrameListener, FrameSink, TlsOptions, TransportCapabilities, TransportConnectOptions, TransportListenOptions,
} from './transport.js';
export {
  Codec, Transport, registerCodec, registerTransport, registeredCodecs, registeredTransports, unregisterCodec, unregisterTransport,
} from './registry.js';
export type { CodecEntry, CodecMeta, PluginClass, TransportEntry, TransportMeta } from './registry.js';
export { KERNEL, LOGGER } from './tokens.js';
export { consoleLogger, silentLogger } from './logger.js';
export type { Logger } from './logger.js';
export { Emitter } from './events.js';
export { Deque } from './deque.js';
export { LatencyRecorder } from './latency.js';
export type { LatencySummary } from './latency.js';
export { SessionChannel } from './channel.js';
export type { ChannelEvents, ChannelStats, CommunicationChannel, RequestHandler, SessionChannelOptions, WaitOptions } from './channel.js';
export { acceptSession, openSession, CLIENT_VERSION, MAX_FRAME_SIZE_METADATA } from './session.js';
export { encodeHandshake, decodeHandshake } from './handshake-codec.js';
export { generateSecret, secretsEqual } from './secret.js';
export { ExecutionErrorCode, invoke, serve } from './serve.js';
export type { FunctionHandler, HandlerContext, Handlers, InvokeOptions } from './serve.js';
export { Listener } from './listener.js';
export type { ListenerEvents } from './listener.js';
export { BUILTIN_PLUGINS, Kernel, createKernel } from './kernel.js';
export type { ConnectOptions, KernelOptions, ListenOptions, UnavailablePlugin } from './kernel.js';
export { wellFormed, wellFormedMap } from './well-formed.js';
export { messageFields } from './message-fields.js';
export type { FieldWriters } from './message-fields.js';
export { FRAME_HEADER_BYTES, LengthPrefixDecoder, MAX_WIRE_FRAME_SIZE, encodeFrameHeader, writeFrameHeader } from './stream-framing.js';
export type { LengthPrefixDecoderOptions } from './stream-framing.js';
export { StreamFrameConnection } from './stream-connection.js';
export type { FrameStream, StreamFrameConnectionOptions } from './stream-connection.js';
export { whenSocketConnected } from './stream-connect.js';
export type { SocketConnectOptions } from './stream-connect.js';
export { OpenListeners, listenStreamServer } from './stream-server.js';
export type { StreamServerOptions } from './stream-server.js';
// Runtime layer: factory strategies, per-instance addresses, process instances, resilience.
export { UNIX_PATH_MAX, instanceAddress, instanceFileStem, socketFileName, unixPathProblem, unixSocketPath, unixUrl } from './runtime/addresses.js';
export { DEFAULT_STRATEGIES, candidateTransports } from './runtime/strategies.js';
export type { CommunicationStrategy } from './runtime/strategies.js';
export { CommunicationFactory } from './runtime/factory.js';
export type { ChannelConfig, FactoryOptions } from './runtime/factory.js';
export { DurableChannel } from './runtime/durable-channel.js';
export type { DurableChannelEvents, DurableChannelStats } from './runtime/durable-channel.js';
export { InstanceChannel } from './runtime/instance-channel.js';
export type { FallbackRecord, InstanceChannelState, InstanceChannelStats } from './runtime/instance-channel.js';
export { SPEAR_ENV, connectFromEnv, instanceEnvironment, readInstanceEnv } from './runtime/instance-env.js';
export type { ConnectFromEnvOptions, InstanceSettings } from './runtime/instance-env.js';
export { ConnectionMonitor } from './runtime/monitoring.js';
export type {
  AuthenticatedEvent, ConnectedEvent, ConnectionErrorEvent, DisconnectedEvent, FallbackEvent, MonitorEvent, MonitorEventType, MonitorEvents,
  MonitorOptions, ReceivedMessageEvent,
} from './runtime/monitoring.js';
export { ChannelWrapper } from './runtime/channel-wrapper.js';
export { reconnectDelay, checkReconnectPolicy } from './runtime/resilience/reconnect-policy.js';
export type { ReconnectPolicy } from './runtime/resilience/reconnect-policy.js';
export { ReconnectingChannel, connectWithReconnect } from './runtime/resilience/reconnect.js';
export type { ReconnectingConnectOptions } from './runtime/resilience/reconnect.js';
export { HeartbeatMonitor, startHeartbeat } from './runtime/resilience/heartbeat.js';
export type { HeartbeatEvents, HeartbeatOptions } from './runtime/resilience/heartbeat.js';
export { CircuitBreaker, isPeerFailure } from './runtime/resilience/circuit-breaker.js';
export type { CircuitBreakerEvents, CircuitBreakerOptions, CircuitState } from './runtime/resilience/circuit-breaker.js';
export { CircuitBreakerChannel, withCircuitBreaker } from './runtime/resilience/circuit-breaker-channel.js';
export { ProcessRuntime } from './runtime/process-runtime.js';
export type { ProcessRuntimeEvents, SpawnOptions } from './runtime/process-runtime.js';
export { ProcessInstance } from './runtime/process-instance.js';
export type { ExitInfo, ProcessInstanceEvents } from './runtime/process-instance.js';
