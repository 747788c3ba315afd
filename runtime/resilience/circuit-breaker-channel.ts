import { type CommunicationChannel, type RuntimeMessage, type WaitOptions } from 'spear-comm';
import { ChannelWrapper } from '../channel-wrapper.js';
import { CircuitBreaker, type CircuitBreakerOptions } from './circuit-breaker.js';

/**
 * A channel whose `request()` (and so `invoke()`) goes through a circuit breaker: while the peer
 * keeps failing, calls throw `CircuitOpen` at once instead of each waiting for its own timeout.
 */
export class CircuitBreakerChannel extends ChannelWrapper {
  readonly breaker: CircuitBreaker;

  constructor(inner: CommunicationChannel, breaker: CircuitBreaker | CircuitBreakerOptions = {}) {
    super(inner);
    this.breaker =
      breaker instanceof CircuitBreaker ? breaker : new CircuitBreaker({ name: `instance "${inner.instanceId.instanceId}"`, ...breaker });
    inner.on('close', () => this.breaker.dispose());
  }

  override request(message: RuntimeMessage, options?: WaitOptions): Promise<RuntimeMessage> {
    return this.breaker.execute(() => this.inner.request(message, options));
  }

  override close(): Promise<void> {
    this.breaker.dispose();
    return this.inner.close();
  }
}

/** Wraps `channel` so its requests go through a circuit breaker (a new one from `options`, or one you share). */
export function withCircuitBreaker(channel: CommunicationChannel, options?: CircuitBreaker | CircuitBreakerOptions): CircuitBreakerChannel {
  return new CircuitBreakerChannel(channel, options);
}
