import {
  type ChannelEvents,
  type ChannelStats,
  type CommunicationChannel,
  type RequestHandler,
  type RequestHandlerOptions,
  type RuntimeInstanceId,
  type RuntimeMessage,
  type WaitOptions,
} from 'spear-comm';

/** Forwards everything to another channel; resilience layers extend it and override what they change. */
export class ChannelWrapper implements CommunicationChannel {
  constructor(protected readonly inner: CommunicationChannel) {}

  get instanceId(): RuntimeInstanceId {
    return this.inner.instanceId;
  }
  get sessionId(): string {
    return this.inner.sessionId;
  }
  get transport(): string {
    return this.inner.transport;
  }
  get codec(): string {
    return this.inner.codec;
  }
  get remoteAddress(): string {
    return this.inner.remoteAddress;
  }
  /** The inner channel's peer frame limit, if it knows it: streams size their chunks by it. */
  get peerMaxFrameSize(): number | undefined {
    return this.inner.peerMaxFrameSize;
  }
  send(message: RuntimeMessage): Promise<void> {
    return this.inner.send(message);
  }
  receive(options?: WaitOptions): Promise<RuntimeMessage> {
    return this.inner.receive(options);
  }
  request(message: RuntimeMessage, options?: WaitOptions): Promise<RuntimeMessage> {
    return this.inner.request(message, options);
  }
  isConnected(): boolean {
    return this.inner.isConnected();
  }
  close(): Promise<void> {
    return this.inner.close();
  }
  stats(): ChannelStats {
    return this.inner.stats();
  }
  on<K extends keyof ChannelEvents>(event: K, listener: (...args: ChannelEvents[K]) => void): () => void {
    return this.inner.on(event, listener);
  }
  setRequestHandler(handler: RequestHandler | null, options?: RequestHandlerOptions): void {
    this.inner.setRequestHandler(handler, options);
  }
  [Symbol.asyncIterator](): AsyncIterator<RuntimeMessage> {
    return this.inner[Symbol.asyncIterator]();
  }
}
