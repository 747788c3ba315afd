/**
 * What a workload drives: one connection to an echo or sink endpoint. Raw baselines and
 * spear-comm channels implement the same interface, so both run the very same loops.
 */
export interface Peer {
  /** Sends `payload` to an echo endpoint and resolves when the echo has come back. */
  roundTrip(payload: Uint8Array): Promise<void>;
  /** Sends `payload` to a sink endpoint, which answers nothing. May resolve when the bytes are accepted. */
  send(payload: Uint8Array): Promise<void> | void;
  /** Resolves once the sink has received everything sent before. */
  sync(): Promise<void>;
  close(): Promise<void>;
}

/** Answers in the order requests were sent; both echo protocols guarantee that order. */
export class Fifo {
  private items: Array<{ resolve(): void; reject(error: Error): void; length: number }> = [];
  private head = 0;

  get size(): number {
    return this.items.length - this.head;
  }

  wait(length: number): Promise<void> {
    return new Promise<void>((resolve, reject) => {
      this.items.push({ resolve, reject, length });
    });
  }

  /** Settles the oldest waiter with a frame of `length` bytes; a wrong length is a failed echo. */
  settle(length: number): void {
    const item = this.items[this.head];
    if (!item) throw new Error(`received an unexpected ${length}-byte frame`);
    this.items[this.head++] = undefined!;
    if (this.head > 4096 && this.head * 2 > this.items.length) {
      this.items = this.items.slice(this.head);
      this.head = 0;
    }
    if (length === item.length) item.resolve();
    else item.reject(new Error(`echo of ${item.length} bytes came back as ${length} bytes`));
  }

  failAll(error: Error): void {
    const rest = this.items.slice(this.head);
    this.items = [];
    this.head = 0;
    for (const item of rest) item.reject(error);
  }
}
