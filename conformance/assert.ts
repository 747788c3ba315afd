import { CommunicationError, type ErrorCode } from 'spear-comm';

/** A conformance check that did not hold. Its message says what was expected and what happened. */
export class ConformanceFailure extends Error {
  override readonly name = 'ConformanceFailure';
}

/**
 * Thrown by a case that finds at run time that it does not apply (e.g. the transport's connections
 * lack an optional method): the case is reported as unsupported with `reason`, never as passed.
 */
export class CaseNotApplicable extends Error {
  override readonly name = 'CaseNotApplicable';
}

export function fail(message: string): never {
  throw new ConformanceFailure(message);
}

export function check(condition: unknown, message: string | (() => string)): asserts condition {
  if (!condition) fail(typeof message === 'function' ? message() : message);
}

export function checkEqual<T>(actual: T, expected: T, what: string): void {
  if (!Object.is(actual, expected)) fail(`${what}: expected ${show(expected)}, got ${show(actual)}`);
}

/** A value for a failure message, never longer than about 600 characters. */
export function show(value: unknown): string {
  if (value instanceof Error) return clip(`${value.name}${CommunicationError.is(value) ? `(${value.code})` : ''}: ${value.message}`);
  if (value instanceof Uint8Array) return `<${value.byteLength} bytes>`;
  try {
    return clip(JSON.stringify(value) ?? String(value));
  } catch {
    return clip(String(value));
  }
}

/** Cuts a long text to its start and end, saying how much was cut. */
export function clip(text: string, max = 600): string {
  if (text.length <= max) return text;
  const head = Math.floor(max * 0.7);
  const tail = max - head;
  return `${text.slice(0, head)} …[${text.length - head - tail} characters cut]… ${text.slice(-tail)}`;
}

/** Lists items as the first few and the last, with the count of those left out. */
export function listSome<T>(items: readonly T[], format: (item: T) => string = String, first = 5, last = 2): string {
  if (items.length <= first + last) return items.map(format).join(', ');
  return `${items.slice(0, first).map(format).join(', ')}, …(${items.length - first - last} more)…, ${items
    .slice(-last)
    .map(format)
    .join(', ')}`;
}

/** Settles with the promise, or fails with "`what` did not happen within `ms` ms". Clears its timer either way. */
export function within<T>(
  promise: Promise<T>,
  ms: number,
  what: string,
  timeoutMessage = `${what} did not happen within ${ms} ms`,
): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  const guard = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new ConformanceFailure(timeoutMessage)), ms);
  });
  return Promise.race([promise, guard]).finally(() => clearTimeout(timer));
}

export type Outcome<T> = { state: 'resolved'; value: T } | { state: 'rejected'; error: unknown } | { state: 'pending' };

/** What became of a promise within `ms`: used where "still pending" is the expected answer (backpressure). */
export function outcomeWithin<T>(promise: Promise<T>, ms: number): Promise<Outcome<T>> {
  let timer: NodeJS.Timeout | undefined;
  const pending = new Promise<Outcome<T>>((resolve) => {
    timer = setTimeout(() => resolve({ state: 'pending' }), ms);
  });
  const settled = promise.then(
    (value): Outcome<T> => ({ state: 'resolved', value }),
    (error: unknown): Outcome<T> => ({ state: 'rejected', error }),
  );
  return Promise.race([settled, pending]).finally(() => clearTimeout(timer));
}

/** Expects the promise to reject with a CommunicationError whose code is one of `codes`, within `ms`. */
export async function expectRejection(
  promise: Promise<unknown>,
  codes: ErrorCode | ErrorCode[],
  what: string,
  ms = 5_000,
): Promise<CommunicationError> {
  const wanted = Array.isArray(codes) ? codes : [codes];
  const outcome = await outcomeWithin(promise, ms);
  if (outcome.state === 'pending')
    fail(`${what}: expected a rejection with ${wanted.join(' or ')}, but it was still pending after ${ms} ms`);
  if (outcome.state === 'resolved')
    fail(`${what}: expected a rejection with ${wanted.join(' or ')}, but it resolved with ${show(outcome.value)}`);
  const error = outcome.error;
  if (!CommunicationError.is(error)) fail(`${what}: expected a CommunicationError with ${wanted.join(' or ')}, got ${show(error)}`);
  if (!wanted.includes(error.code)) fail(`${what}: expected code ${wanted.join(' or ')}, got ${error.code} (${error.message})`);
  if (!error.message.trim()) fail(`${what}: the ${error.code} error has no message; users need one that says what to do`);
  return error;
}

/** Checks that an elapsed time is not before `limitMs` and not more than `slackMs` after it. */
export function checkNearLimit(elapsedMs: number, limitMs: number, what: string, slackMs = 2_000): void {
  // Timers fire on a millisecond clock cached per loop turn, so they can look up to ~1 ms early.
  const earliest = limitMs - 15;
  check(elapsedMs >= earliest, `${what} after ${elapsedMs.toFixed(0)} ms, before its ${limitMs} ms limit`);
  check(
    elapsedMs <= limitMs + slackMs,
    `${what} after ${elapsedMs.toFixed(0)} ms, far past its ${limitMs} ms limit (allowed up to ${limitMs + slackMs} ms)`,
  );
}

/** Resolves on the next turn of the event loop (after pending I/O callbacks). */
export function nextTurn(): Promise<void> {
  return new Promise((resolve) => setImmediate(resolve));
}
