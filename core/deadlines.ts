/** One thing with a deadline; `Deadlines` links it into the list of its timeout. */
export interface DeadlineEntry {
  /** `performance.now()` at which it expires. */
  deadlineAt: number;
  deadlineMs: number;
  deadlinePrev: DeadlineEntry | undefined;
  deadlineNext: DeadlineEntry | undefined;
  /** Whether it is linked (not yet removed or expired). */
  deadlineLinked: boolean;
}

interface List {
  head: DeadlineEntry | undefined;
  tail: DeadlineEntry | undefined;
}

/**
 * The deadlines of many waits with one timer instead of one `setTimeout` each. Entries with the
 * same timeout expire in the order they were added, so each timeout has a linked list (append
 * and remove are O(1)); the one timer is armed for the earliest head. Removing entries does not
 * re-arm it: when it fires early it finds nothing due and re-arms for the new earliest head, so a
 * channel with a 30 s timeout wakes up about once per 30 s however many requests it completes.
 * The timer is cleared when the last entry goes, so a process with nothing pending can exit.
 */
export class Deadlines<E extends DeadlineEntry> {
  private readonly lists = new Map<number, List>();
  private count = 0;
  private timer: NodeJS.Timeout | undefined;
  private timerAt = Infinity;

  constructor(private readonly onExpire: (entry: E) => void) {}

  get size(): number {
    return this.count;
  }

  /** Links `entry` to expire `timeoutMs` from now. */
  add(entry: E, timeoutMs: number): void {
    entry.deadlineMs = timeoutMs;
    entry.deadlineAt = performance.now() + timeoutMs;
    entry.deadlinePrev = undefined;
    entry.deadlineNext = undefined;
    entry.deadlineLinked = true;
    let list = this.lists.get(timeoutMs);
    if (!list) {
      list = { head: entry, tail: entry };
      this.lists.set(timeoutMs, list);
    } else if (list.tail) {
      entry.deadlinePrev = list.tail;
      list.tail.deadlineNext = entry;
      list.tail = entry;
    } else {
      list.head = list.tail = entry;
    }
    this.count++;
    if (entry.deadlineAt < this.timerAt) this.arm(entry.deadlineAt);
  }

  /** Unlinks `entry` (answered, aborted); a no-op when it is not linked. */
  remove(entry: E): void {
    if (!entry.deadlineLinked) return;
    entry.deadlineLinked = false;
    const list = this.lists.get(entry.deadlineMs)!;
    if (entry.deadlinePrev) entry.deadlinePrev.deadlineNext = entry.deadlineNext;
    else list.head = entry.deadlineNext;
    if (entry.deadlineNext) entry.deadlineNext.deadlinePrev = entry.deadlinePrev;
    else list.tail = entry.deadlinePrev;
    entry.deadlinePrev = entry.deadlineNext = undefined;
    if (--this.count === 0) this.disarm();
  }

  /** Unlinks everything without expiring it (the channel closed). */
  clear(): void {
    for (const list of this.lists.values()) {
      for (let e = list.head; e;) {
        const next = e.deadlineNext;
        e.deadlineLinked = false;
        e.deadlinePrev = e.deadlineNext = undefined;
        e = next;
      }
    }
    this.lists.clear();
    this.count = 0;
    this.disarm();
  }

  private arm(at: number): void {
    if (this.timer) clearTimeout(this.timer);
    this.timerAt = at;
    this.timer = setTimeout(this.fire, Math.max(1, Math.ceil(at - performance.now())));
  }

  private disarm(): void {
    if (this.timer) clearTimeout(this.timer);
    this.timer = undefined;
    this.timerAt = Infinity;
  }

  private readonly fire = (): void => {
    this.timer = undefined;
    this.timerAt = Infinity;
    const now = performance.now();
    const due: E[] = [];
    let next = Infinity;
    for (const [ms, list] of this.lists) {
      let e = list.head;
      while (e && e.deadlineAt <= now) {
        const after = e.deadlineNext;
        e.deadlineLinked = false;
        e.deadlinePrev = e.deadlineNext = undefined;
        this.count--;
        due.push(e as E);
        e = after;
      }
      list.head = e;
      if (e) {
        e.deadlinePrev = undefined;
        next = Math.min(next, e.deadlineAt);
      } else {
        list.tail = undefined;
        this.lists.delete(ms);
      }
    }
    if (next !== Infinity) this.arm(next);
    for (const e of due) this.onExpire(e);
  };
}
