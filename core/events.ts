/** A listener for an Emitter event: called with the event's arguments. */
export type EmitterListener<A extends unknown[]> = (...args: A) => void;

/**
 * A small typed event emitter. Unlike node:events, an 'error' event with no listener is not
 * thrown: monitoring is optional, and nothing here may crash a host that does not subscribe.
 */
export class Emitter<Events extends { [K in keyof Events]: unknown[] }> {
  private readonly listeners = new Map<keyof Events, Set<EmitterListener<never>>>();

  on<K extends keyof Events>(event: K, listener: EmitterListener<Events[K]>): () => void {
    let set = this.listeners.get(event);
    if (!set) this.listeners.set(event, (set = new Set()));
    set.add(listener);
    return () => void set.delete(listener);
  }

  hasListeners(event: keyof Events): boolean {
    return (this.listeners.get(event)?.size ?? 0) > 0;
  }

  protected emit<K extends keyof Events>(event: K, ...args: Events[K]): void {
    const set = this.listeners.get(event);
    if (!set) return;
    for (const listener of [...set]) {
      try {
        (listener as EmitterListener<Events[K]>)(...args);
      } catch {
        // A throwing subscriber must not break the channel that emitted the event.
      }
    }
  }
}
