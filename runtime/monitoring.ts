import {
  Emitter,
  type CommunicationChannel,
  type CommunicationError,
  type Listener,
  type RuntimeInstanceId,
  type RuntimeMessage,
} from 'spear-comm';

interface EventBase {
  /** Epoch ms. */
  at: number;
}

/** A connection reached a listener and is in the handshake. `instanceId` is known for per-instance listeners. */
export interface ConnectedEvent extends EventBase {
  type: 'connected';
  listenerUrl: string;
  remoteAddress: string;
  instanceId?: RuntimeInstanceId;
}
export interface AuthenticatedEvent extends EventBase {
  type: 'authenticated';
  instanceId: RuntimeInstanceId;
  sessionId: string;
  transport: string;
  codec: string;
  remoteAddress: string;
}
/** A message arrived (emitted only while someone subscribes to `message` or `event`). */
export interface ReceivedMessageEvent extends EventBase {
  type: 'message';
  instanceId: RuntimeInstanceId;
  sessionId: string;
  message: RuntimeMessage;
}
/** A session ended; `reason` is absent when it was closed locally. */
export interface DisconnectedEvent extends EventBase {
  type: 'disconnected';
  instanceId: RuntimeInstanceId;
  sessionId: string;
  reason?: CommunicationError;
}
/** A handshake was refused (wrong secret, auth timeout, connection limit), a session failed, or a listener reported an error. */
export interface ConnectionErrorEvent extends EventBase {
  type: 'error';
  error: CommunicationError | Error;
  instanceId?: RuntimeInstanceId;
  remoteAddress?: string;
}
/** The factory could not use a preferred transport for an instance and moved on to the next one. */
export interface FallbackEvent extends EventBase {
  type: 'fallback';
  instanceId: RuntimeInstanceId;
  transport: string;
  reason: string;
}

export type MonitorEvent =
  ConnectedEvent | AuthenticatedEvent | ReceivedMessageEvent | DisconnectedEvent | ConnectionErrorEvent | FallbackEvent;
export type MonitorEventType = MonitorEvent['type'];

export type MonitorEvents = { [K in MonitorEventType]: [event: Extract<MonitorEvent, { type: K }>] } & { event: [event: MonitorEvent] };

/** Undistributes Omit over the union, so each event keeps its own fields. */
type WithoutTime<E> = E extends MonitorEvent ? Omit<E, 'at'> : never;

export interface MonitorOptions {
  /** Non-message events kept for `recent()` (default 256). */
  history?: number;
}

/**
 * One stream of connection events for a host: subscribe to a kind (`on('authenticated', ...)`)
 * or to everything (`on('event', ...)`). Watches listeners and channels through the events they
 * already emit; keeps counts and a bounded history of everything but messages.
 */
export class ConnectionMonitor extends Emitter<MonitorEvents> {
  private readonly history: MonitorEvent[] = [];
  private readonly historyLimit: number;
  private readonly counters: Record<MonitorEventType, number> = {
    connected: 0,
    authenticated: 0,
    message: 0,
    disconnected: 0,
    error: 0,
    fallback: 0,
  };

  constructor(options: MonitorOptions = {}) {
    super();
    this.historyLimit = Math.max(0, options.history ?? 256);
  }

  /** Reports the connections, sessions and refusals of `listener` (and every session it accepts). */
  watchListener(listener: Listener, context: { instanceId?: RuntimeInstanceId } = {}): () => void {
    const stops = [
      listener.on('connection', (remoteAddress) =>
        this.record({ type: 'connected', listenerUrl: listener.url, remoteAddress, ...context }),
      ),
      listener.on('channel', (channel) => stops.push(this.watchChannel(channel))),
      listener.on('rejected', (error, remoteAddress) => this.record({ type: 'error', error, remoteAddress, ...context })),
      listener.on('error', (error) => this.record({ type: 'error', error, ...context })),
    ];
    return () => {
      for (const stop of stops.splice(0)) stop();
    };
  }

  /** Reports `channel` as authenticated now, then its messages, errors and end. */
  watchChannel(channel: CommunicationChannel): () => void {
    const { instanceId, sessionId } = channel;
    this.record({
      type: 'authenticated',
      instanceId,
      sessionId,
      transport: channel.transport,
      codec: channel.codec,
      remoteAddress: channel.remoteAddress,
    });
    const stops = [
      channel.on('message', (message) => {
        this.counters.message++;
        if (this.hasListeners('message') || this.hasListeners('event'))
          this.publish({ type: 'message', at: Date.now(), instanceId, sessionId, message });
      }),
      channel.on('error', (error) => this.record({ type: 'error', error, instanceId })),
      channel.on('close', (reason) => {
        for (const stop of stops.splice(0)) stop();
        this.record({ type: 'disconnected', instanceId, sessionId, ...(reason ? { reason } : {}) });
      }),
    ];
    return () => {
      for (const stop of stops.splice(0)) stop();
    };
  }

  /** Adds an event of your own (or of a layer that is not a listener or channel). */
  record(event: WithoutTime<MonitorEvent>): void {
    const stamped = { ...event, at: Date.now() };
    this.counters[stamped.type]++;
    if (this.historyLimit > 0) {
      this.history.push(stamped);
      if (this.history.length > this.historyLimit) this.history.shift();
    }
    this.publish(stamped);
  }

  /** Events seen so far (messages excluded), oldest first. */
  recent(): MonitorEvent[] {
    return [...this.history];
  }

  /** How many events of each kind were seen (messages included). */
  counts(): Record<MonitorEventType, number> {
    return { ...this.counters };
  }

  private publish(event: MonitorEvent): void {
    (this.emit as (type: string, event: MonitorEvent) => void).call(this, event.type, event);
    this.emit('event', event);
  }
}
