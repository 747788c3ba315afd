// spear-comm/runtime: the runtime layer, built on a kernel — factory strategies, per-instance
// addresses, process instances, resilience. It imports only the public entries.
export { UNIX_PATH_MAX, instanceAddress, instanceFileStem, socketFileName, unixPathProblem, unixSocketPath, unixUrl } from './addresses.js';
export type { AddressContext } from './addresses.js';
export { DEFAULT_STRATEGIES, candidateTransports } from './strategies.js';
export type { CommunicationStrategy } from './strategies.js';
export { CommunicationFactory } from './factory.js';
export type { ChannelConfig, FactoryOptions } from './factory.js';
export { DurableChannel } from './durable-channel.js';
export type { DurableChannelEvents, DurableChannelOptions, DurableChannelStats } from './durable-channel.js';
export { InstanceChannel } from './instance-channel.js';
export type { FallbackRecord, InstanceChannelInit, InstanceChannelState, InstanceChannelStats } from './instance-channel.js';
export { SPEAR_ENV, connectFromEnv, instanceEnvironment, readInstanceEnv } from './instance-env.js';
export type { ConnectFromEnvOptions, Env, InstanceSettings } from './instance-env.js';
export { ConnectionMonitor } from './monitoring.js';
export type {
  AuthenticatedEvent,
  ConnectedEvent,
  ConnectionErrorEvent,
  DisconnectedEvent,
  FallbackEvent,
  MonitorEvent,
  MonitorEventType,
  MonitorEvents,
  MonitorOptions,
  ReceivedMessageEvent,
} from './monitoring.js';
export { ChannelWrapper } from './channel-wrapper.js';
export { reconnectDelay, checkReconnectPolicy } from './resilience/reconnect-policy.js';
export type { ReconnectPolicy } from './resilience/reconnect-policy.js';
export { ReconnectingChannel, connectWithReconnect } from './resilience/reconnect.js';
export type { ReconnectingConnectOptions } from './resilience/reconnect.js';
export { HeartbeatMonitor, startHeartbeat } from './resilience/heartbeat.js';
export type { HeartbeatEvents, HeartbeatOptions } from './resilience/heartbeat.js';
export { CircuitBreaker, isPeerFailure } from './resilience/circuit-breaker.js';
export type { CircuitBreakerEvents, CircuitBreakerOptions, CircuitState } from './resilience/circuit-breaker.js';
export { CircuitBreakerChannel, withCircuitBreaker } from './resilience/circuit-breaker-channel.js';
export { ProcessRuntime } from './process-runtime.js';
export type { ProcessRuntimeEvents, SpawnOptions, SpawnPoolOptions } from './process-runtime.js';
export { ProcessInstance } from './process-instance.js';
export type { ExitInfo, ProcessInstanceEvents } from './process-instance.js';
export { InstancePool } from './pool/instance-pool.js';
export type {
  InstancePoolEvents,
  InstancePoolOptions,
  PoolBreakerOptions,
  PoolInvokeOptions,
  PoolMemberSource,
  PoolMemberState,
  PoolMemberStats,
  PoolProbeOptions,
  PoolStats,
} from './pool/instance-pool.js';
export { ProcessPool } from './pool/process-pool.js';
export type { PoolRestartOptions } from './pool/process-pool.js';
export { POOL_STRATEGIES, hash32, hashStrategy, latencyStrategy, leastPendingStrategy, roundRobinStrategy } from './pool/strategies.js';
export type { LatencyStrategyOptions, PoolCall, PoolMemberView, PoolStrategy, PoolStrategyName } from './pool/strategies.js';
export { ChannelRouter } from './pool/router.js';
export type {
  ChannelRouterOptions,
  MessagePriority,
  RouteMatch,
  RouteRequest,
  RouteRule,
  RouterChannelStats,
  RouterInvokeOptions,
  RoutingDecision,
} from './pool/router.js';
