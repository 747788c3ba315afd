import type { CommunicationChannel } from './channel.js';
import { CommunicationError, ErrorCode, failureOf, remoteError } from './errors.js';
import { quotePeerText } from './peer-text.js';
import type { ExecutionError, ExecutionRequest, ExecutionResponse, Metadata, RuntimeInstanceId } from './messages.js';
import { isStreaming, serveStreams, type StreamingHandler } from './stream-serve.js';

export interface HandlerContext {
  requestId: string;
  functionName: string;
  metadata: Metadata;
  /** The instance on the other end of the channel. */
  instanceId: RuntimeInstanceId;
  /** The caller's timeout for this call in ms (0 if none was given). */
  timeoutMs: number;
  /** Aborted when the channel closes while the handler runs. */
  signal: AbortSignal;
}

export type FunctionHandler = (input: Uint8Array, ctx: HandlerContext) => Uint8Array | Promise<Uint8Array>;
/** Plain handlers answer `invoke()`; those marked with `streaming()` answer `invokeStream()`. */
export type Handlers = Record<string, FunctionHandler | StreamingHandler>;

/** Error codes a served function's failure is reported with (besides a thrown CommunicationError's own code). */
export const ExecutionErrorCode = {
  UnknownFunction: 'UnknownFunction',
  HandlerError: 'HandlerError',
  InvalidOutput: 'InvalidOutput',
} as const;

export interface ServeOptions {
  /**
   * Requests answered at once (handler running or answer not yet written to the peer) before the
   * channel stops reading from the peer (default 128, `DEFAULT_MAX_CONCURRENT_REQUESTS`). A peer
   * that sends requests and never reads the answers then stalls in its own sends, and this side's
   * memory stays bounded; every request is still answered once the peer reads.
   */
  maxConcurrentRequests?: number;
}

/**
 * Answers the channel's ExecutionRequests with `handlers[functionName]`. A throwing handler or an
 * unknown function becomes an `ExecutionResponse` with `success: false`. Returns a function that stops serving.
 * Either side of a channel may serve (`handlers` in `listen()`/`connect()` options does the same).
 *
 * @example
 * ```ts
 * const channel = await kernel.connect(url, { token });
 * const stop = serve(channel, {
 *   upper: (input) => Buffer.from(Buffer.from(input).toString().toUpperCase()),
 *   slow: async (input, ctx) => { await work(ctx.signal); return input; },   // ctx: requestId, metadata, timeoutMs…
 * });
 * // later: stop();
 * ```
 */
export function serve(channel: CommunicationChannel, handlers: Handlers, options: ServeOptions = {}): () => void {
  const running = new Set<RunningCall>();
  const stopOnClose = channel.on('close', () => {
    for (const call of running)
      call.abort(new CommunicationError(ErrorCode.ChannelClosed, 'The channel closed while the handler was running'));
  });

  channel.setRequestHandler(
    (request) => answer(channel, handlers, request, running),
    options.maxConcurrentRequests !== undefined ? { maxConcurrent: options.maxConcurrentRequests } : {},
  );
  const stopStreams = serveStreams(channel, handlers);
  return () => {
    channel.setRequestHandler(null);
    stopOnClose();
    stopStreams();
  };
}

/**
 * The context a handler gets. Its abort signal is created on first read of `signal`: an
 * AbortController per request cost more than the rest of serving a small request (see the bench
 * report), and an object literal with a getter is ~40× slower to create than this class.
 */
class RunningCall implements HandlerContext {
  private controller: AbortController | undefined;
  private reason: unknown;
  private aborted = false;

  constructor(
    readonly requestId: string,
    readonly functionName: string,
    readonly metadata: Metadata,
    readonly instanceId: RuntimeInstanceId,
    readonly timeoutMs: number,
  ) {}

  get signal(): AbortSignal {
    if (!this.controller) {
      this.controller = new AbortController();
      if (this.aborted) this.controller.abort(this.reason);
    }
    return this.controller.signal;
  }

  abort(reason: unknown): void {
    if (this.aborted) return;
    this.aborted = true;
    this.reason = reason;
    this.controller?.abort(reason);
  }
}

/** Not async: a handler's immediate output is answered in the same tick, without `await` hops (docs/benchmarks.md). */
function answer(channel: CommunicationChannel, handlers: Handlers, request: ExecutionRequest, running: Set<RunningCall>): Promise<void> {
  const started = performance.now();
  const handler = Object.hasOwn(handlers, request.functionName) ? handlers[request.functionName] : undefined;
  if (typeof handler !== 'function') {
    const known = Object.keys(handlers).join(', ') || '(none)';
    const message = isStreaming(handler)
      ? `Function ${quotePeerText(request.functionName)} is a streaming one; call it with invokeStream()`
      : `No function ${quotePeerText(request.functionName)} is served here; served functions: ${known}`;
    return respond(channel, request, started, undefined, { code: ExecutionErrorCode.UnknownFunction, message });
  }
  const call = new RunningCall(request.requestId, request.functionName, request.metadata, channel.instanceId, request.timeoutMs);
  running.add(call);
  let output: unknown;
  try {
    output = handler(request.input, call);
  } catch (err) {
    running.delete(call);
    return respondError(channel, request, started, err);
  }
  if (typeof (output as PromiseLike<unknown> | null)?.then !== 'function') {
    running.delete(call);
    return respondOutput(channel, request, started, output);
  }
  return Promise.resolve(output as PromiseLike<unknown>).then(
    (value) => (running.delete(call), respondOutput(channel, request, started, value)),
    (err: unknown) => (running.delete(call), respondError(channel, request, started, err)),
  );
}

function respondOutput(channel: CommunicationChannel, request: ExecutionRequest, started: number, output: unknown): Promise<void> {
  if (output instanceof Uint8Array) return respond(channel, request, started, output);
  const message = `Function "${request.functionName}" returned ${output === null ? 'null' : typeof output}; handlers must return a Uint8Array`;
  return respond(channel, request, started, undefined, { code: ExecutionErrorCode.InvalidOutput, message });
}

function respondError(channel: CommunicationChannel, request: ExecutionRequest, started: number, err: unknown): Promise<void> {
  return respond(channel, request, started, undefined, failureOf(err));
}

/** Sends the answer: `output`, or `error` when output is undefined. */
function respond(channel: CommunicationChannel, req: ExecutionRequest, started: number, output?: Uint8Array, error?: ExecutionError) {
  const response: ExecutionResponse = {
    type: 'ExecutionResponse',
    requestId: req.requestId,
    timestamp: Date.now(),
    metadata: {},
    success: output !== undefined,
    output: output ?? new Uint8Array(0),
    durationMs: performance.now() - started,
  };
  // Added only when there is one, so that the usual response keeps one fixed shape.
  if (error !== undefined) response.error = error;
  // The caller may be gone; there is nobody left to tell then.
  return channel.send(response).catch(() => {});
}

export interface InvokeOptions {
  /** Local timeout, also sent to the instance as the request's `timeoutMs` (default 30 s). */
  timeoutMs?: number;
  signal?: AbortSignal;
  metadata?: Metadata;
}

/**
 * Calls a function the other side serves and returns its output. A failure of the remote handler
 * throws `CommunicationError` `RemoteError` (its `remoteCode` says which, e.g. `UnknownFunction`);
 * no answer in `timeoutMs` (30 s) throws `Timeout`; the signal firing throws `Aborted`.
 *
 * @example
 * ```ts
 * try {
 *   const out = await invoke(channel, 'upper', Buffer.from('hello'), { timeoutMs: 1000 });
 *   console.log(Buffer.from(out).toString());   // HELLO
 * } catch (err) {
 *   if (CommunicationError.is(err, ErrorCode.RemoteError)) console.error('the handler failed:', err.remoteCode, err.message);
 *   else throw err;
 * }
 * ```
 */
export async function invoke(
  channel: CommunicationChannel,
  functionName: string,
  input: Uint8Array,
  options: InvokeOptions = {},
): Promise<Uint8Array> {
  const timeoutMs = options.timeoutMs ?? 30_000;
  const request: ExecutionRequest = {
    type: 'ExecutionRequest',
    requestId: '',
    timestamp: Date.now(),
    metadata: options.metadata ?? {},
    functionName,
    input,
    timeoutMs,
  };
  const response = await channel.request(request, options.signal ? { timeoutMs, signal: options.signal } : { timeoutMs });
  if (response.type !== 'ExecutionResponse') {
    throw new CommunicationError(ErrorCode.DecodeFailed, `Expected an ExecutionResponse to "${functionName}", got ${response.type}`);
  }
  if (!response.success) {
    const remote = response.error ?? { code: 'Unknown', message: 'no error detail was sent' };
    throw remoteError(remote, `Function "${functionName}" on instance "${channel.instanceId.instanceId}"`);
  }
  return response.output;
}
