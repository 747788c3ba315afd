/** A deliberately broken transport, the contract clause it breaks, and the kit case that must catch it. */
export interface MutantSpec {
  /** Module file name under conformance/mutants (also the transport name after `mutant-`). */
  file: string;
  transport: string;
  bug: string;
  /** The clause of the contract it breaks (a row of the table in docs/conformance.md). */
  clause: string;
  /** The name of the kit case that must fail against it. */
  kills: string;
  /**
   * The bug shows only in its own kind of test: a simple call over the mutant works. False for
   * bugs every test trips over (close that never resolves, leaked timers).
   */
  subtle: boolean;
}

const spec = (file: string, clause: string, bug: string, kills: string, subtle = true): MutantSpec => ({
  file,
  transport: `mutant-${file}`,
  clause,
  bug,
  kills,
  subtle,
});

// The cases, by name (mutants.test.ts checks that each exists).
const EDGES = 'frames of 2 B to 1 MiB, around every length-encoding edge (64 KiB among them), arrive intact both ways';
const MANY = '10,000 small frames sent at once arrive complete and in order, both ways at the same time';
const LISTENER_LIMIT = 'maxFrameSize passes and maxFrameSize + 1 closes the connection with FrameTooLarge (listener limit)';
const COPIED = 'frames are copied: changing a buffer after send() resolves, or after delivery, affects nothing else';
const PARTS = 'sendParts() sends one frame, the concatenation of its parts; changing them after it resolves changes nothing';
const SET_LIMIT =
  'setMaxFrameSize() lowers the limit of a live connection; a frame over it closes the connection with FrameTooLarge naming the reason';
const REFUSED = 'connecting to an address where nothing listens fails promptly (not after the connect timeout)';
const ABORTED = 'connect() with an aborted signal fails with Aborted, at frame and at channel level';
const TWO_CONNECTIONS = 'two connections to one listener: frames never cross, in either direction';
const TWO_KERNELS = 'two kernels with this transport share nothing: closing one leaves the other serving';
const IDEMPOTENT = 'close() is idempotent and resolves promptly: connections, channels and listeners';
const SEND_AFTER_CLOSE = 'send() after close is rejected with ChannelClosed, on the closed side and on its peer';
const LISTENER_CLOSE = 'closing a listener closes its connections, refuses new clients and releases the address';
const REAL_URL = "a listener reports its real URL: the transport's scheme, a real port for port 0, reachable as given";
const TAKEN = 'listening on an address another listener holds fails with ChannelCreationFailed; the first keeps serving';
const ADDRESSES = 'connections report non-empty local and remote addresses that stay the same';
const NO_FRAME_AFTER_CLOSE = 'no frame is delivered once close() has been called on the receiving side';
const SENDS_SETTLE = 'close() settles every send() issued before it: none is left pending';
const DISPOSE = 'dispose() closes the listeners and connections opened through the plugin';
const GARBAGE = 'garbage instead of a handshake closes that connection; the listener keeps serving';
const PRE_AUTH = "a peer that has not authenticated may send at most 64 KiB per frame, whatever the listener's limit";
const BACKPRESSURE = 'a paused reader makes send() wait instead of buffering without bound, and everything flows on resume';
const LATE_START = 'frames that arrive before start() are held, and delivered in order once start() is called late';
const PAUSE_BEFORE_START = 'pause() before start() holds frames until resume()';
const LONG_PAUSE = 'pause() still holds after a long run of traffic and after many pause/resume cycles; nothing is lost or repeated';

const STREAM_LARGE = 'a large stream (8 MiB in, 4 MiB echoed) and an empty one arrive intact and in order';
const STREAM_INTERLEAVE = 'a small invoke during a large stream is answered within a few chunks, not after the stream';
const STREAM_STOP = 'either side stopping early ends the other side, and the channel stays usable';
const STREAM_FLOW =
  'a consumer that pauses bounds the handler to its window, then gets every byte in order; a mid-stream failure is RemoteError';

export const MUTANTS: readonly MutantSpec[] = [
  spec('drop-large', 'capabilities.maxFrameSize', 'drops frames above 64 KiB while send() reports success', EDGES),
  spec('corrupt', 'onFrame: exactly as sent', 'flips one bit in frames of 1,000 bytes or more', EDGES),
  spec('reorder', 'capabilities.ordered', 'lets every 100th frame be overtaken by the next', MANY),
  spec('merge', 'onFrame: one whole frame', 'merges two frames sent in the same turn into one', MANY),
  spec('duplicate-frame', 'capabilities.reliable', 'delivers every 500th frame twice', MANY),
  spec(
    'alias-send',
    'send: changing the buffer afterwards changes nothing',
    "sends the caller's buffer a turn after send() resolved",
    COPIED,
  ),
  spec('split-parts', 'sendParts: one frame, the parts joined', 'sends each part as a frame of its own', PARTS),
  spec(
    'alias-send-parts',
    'sendParts: as send(), changing the parts afterwards changes nothing',
    "sends the caller's parts a turn after it resolved",
    PARTS,
  ),
  spec(
    'reuse-receive-buffer',
    'onFrame: the buffer is not reused',
    'overwrites a delivered buffer with the next frame of the same size',
    COPIED,
  ),
  spec('no-limit', 'listen maxFrameSize', 'ignores the maxFrameSize limit', LISTENER_LIMIT),
  spec(
    'too-large-wrong-code',
    'a frame over the limit: FrameTooLarge',
    'closes with DecodeFailed for a frame over the limit',
    LISTENER_LIMIT,
  ),
  spec('ignore-set-limit', 'setMaxFrameSize', 'accepts setMaxFrameSize() and ignores it', SET_LIMIT),
  spec('no-set-limit', 'setMaxFrameSize: a wrapper must forward it', 'a wrapper that drops setMaxFrameSize()', PRE_AUTH),
  spec('slow-refusal', 'connect: refused promptly', 'takes the whole connect timeout to report a refused connection', REFUSED),
  spec('refused-wrong-code', 'connect: ConnectionRefused', 'reports a refused connection as ChannelCreationFailed', REFUSED),
  spec('ignore-abort', 'connect signal: Aborted', 'connect() ignores its AbortSignal', ABORTED),
  spec('cross-talk', 'connections are independent', 'sends every server-side frame to the client that connected last', TWO_CONNECTIONS),
  spec('shared-state', 'dispose: only its own kernel', 'closes the connections of every kernel when one kernel closes', TWO_KERNELS),
  spec('close-hangs', 'close: resolves', 'closes, but close() never resolves', IDEMPOTENT, false),
  spec('leak-timer', 'close: resources released', 'leaves a keepalive interval running after close', IDEMPOTENT, false),
  spec('silent-close', "close: the peer's sink gets onClose()", 'never tells a connection that its peer closed', IDEMPOTENT),
  spec('close-not-idempotent', 'close: idempotent', 'a second close() rejects', IDEMPOTENT),
  spec('orderly-close-error', 'onClose: no error for an orderly close', 'reports an orderly close as an error', IDEMPOTENT),
  spec('double-close-report', 'onClose: called once', 'tells the sink of the close twice', IDEMPOTENT),
  spec('send-after-close', 'send: ChannelClosed after close', 'send() after close() resolves', SEND_AFTER_CLOSE),
  spec(
    'deliver-after-close',
    'close: no frame delivered after it',
    'delivers frames received before close() after it',
    NO_FRAME_AFTER_CLOSE,
  ),
  spec('strand-sends', 'close: no send() left pending', 'a send() cut off by close() never settles', SENDS_SETTLE),
  spec('empty-address', 'remoteAddress / localAddress', 'reports an empty remoteAddress', ADDRESSES),
  spec('url-as-requested', 'listener url: the real bound address', 'reports the URL it was asked for, not the bound one', REAL_URL, false),
  spec('taken-address', 'listen: taken address fails', 'quietly listens elsewhere when the address is taken', TAKEN),
  spec(
    'listener-keeps-connections',
    'listener close: closes its connections',
    'closing a listener leaves its connections open',
    LISTENER_CLOSE,
  ),
  spec('dispose-noop', 'dispose', 'dispose() releases nothing', DISPOSE),
  spec(
    'fragile-listener',
    'a bad peer affects only its own connection',
    'shuts the whole listener down when it drops one bad client',
    GARBAGE,
  ),
  spec('no-backpressure', 'send: pending while the peer is not reading', 'resolves send() at once, buffering without bound', BACKPRESSURE),
  spec('early-frames-dropped', 'start: frames that arrive earlier are held', 'drops frames that arrive before start()', LATE_START),
  spec('pause-before-start', 'pause: may be called before start()', 'ignores pause() before start()', PAUSE_BEFORE_START),
  spec(
    'pause-forgets-after-traffic',
    'pause: holds for as long and as much as the peer sends',
    'pause() stops holding after 4,000 frames',
    LONG_PAUSE,
  ),
  spec('pause-forgets-after-cycles', 'pause: any number of times', 'pause() stops holding after 30 cycles', LONG_PAUSE),
  // One per streams case, in the order of conformance/cases/streams.ts.
  spec(
    'stream-drop-chunk',
    'streams: payloads of any size arrive intact',
    'loses one in 40 frames of 32 KiB or more while send() reports success',
    STREAM_LARGE,
  ),
  spec(
    'stream-bulk-first',
    'streams: no head-of-line blocking',
    'holds small frames back until bulk traffic has been quiet for 50 ms',
    STREAM_INTERLEAVE,
  ),
  spec(
    'stream-dup-small',
    'streams: either side may stop early',
    'delivers every frame under 256 bytes twice after the handshake',
    STREAM_STOP,
  ),
  spec(
    'stream-swap-large',
    'streams: flow control, order, failure mid-stream',
    'reports a large frame sent at once and lets the next large one overtake it',
    STREAM_FLOW,
  ),
];
