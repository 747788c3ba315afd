import type { Category } from '../types.js';

/** A deliberately broken transport and where the kit must catch it. */
export interface MutantSpec {
  /** Module file name under conformance/mutants (also the transport name after `mutant-`). */
  file: string;
  transport: string;
  bug: string;
  /** The category that must fail. */
  category: Category;
  /**
   * The bug shows only in its own kind of test: a simple call over the mutant works. False for
   * bugs every test trips over (close that never resolves, leaked timers).
   */
  subtle: boolean;
}

const spec = (file: string, bug: string, category: Category, subtle = true): MutantSpec => ({
  file,
  transport: `mutant-${file}`,
  bug,
  category,
  subtle,
});

export const MUTANTS: readonly MutantSpec[] = [
  spec('drop-large', 'drops frames above 64 KiB while send() reports success', 'framing'),
  spec('reorder', 'lets every 100th frame be overtaken by the next', 'framing'),
  spec('merge', 'merges two frames sent in the same turn into one', 'framing'),
  spec('corrupt', 'flips one bit in frames of 1,000 bytes or more', 'framing'),
  spec('no-limit', 'ignores the maxFrameSize limit', 'framing'),
  spec('slow-refusal', 'takes the whole connect timeout to report a refused connection', 'timeout'),
  spec('cross-talk', 'sends every server-side frame to the client that connected last', 'isolation'),
  spec('shared-state', 'closes the connections of every kernel when one kernel closes', 'isolation'),
  spec('close-hangs', 'closes, but close() never resolves', 'lifecycle', false),
  spec('leak-timer', 'leaves a keepalive interval running after close', 'lifecycle', false),
  spec('silent-close', 'never tells a connection that its peer closed', 'lifecycle'),
  spec('fragile-listener', 'shuts the whole listener down when it drops one bad client', 'bad-input'),
  spec('no-backpressure', 'resolves send() at once, buffering without bound', 'backpressure'),
  // One per streams case, in the order of conformance/cases/streams.ts.
  spec('stream-drop-chunk', 'loses one in 40 frames of 32 KiB or more while send() reports success', 'streams'),
  spec('stream-bulk-first', 'holds small frames back until bulk traffic has been quiet for 50 ms', 'streams'),
  spec('stream-dup-small', 'delivers every frame under 256 bytes twice after the handshake', 'streams'),
  spec('stream-swap-large', 'reports a large frame sent at once and lets the next large one overtake it', 'streams'),
];
