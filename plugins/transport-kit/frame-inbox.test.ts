import { describe, expect, it } from 'vitest';
import { CommunicationError } from 'spear-comm';
import { FrameInbox } from 'spear-comm/transport-kit';

function setup() {
  const flow: string[] = [];
  const inbox = new FrameInbox({ pause: () => flow.push('pause'), resume: () => flow.push('resume') });
  const got: string[] = [];
  const closes: Array<Error | undefined> = [];
  const sink = { onFrame: (f: Uint8Array) => got.push(Buffer.from(f).toString()), onClose: (e?: Error) => closes.push(e) };
  const push = (s: string) => inbox.push(Buffer.from(s));
  return { inbox, flow, got, closes, sink, push };
}

describe('FrameInbox', () => {
  it('holds frames until start, then delivers them in order before later ones', () => {
    const { inbox, got, sink, push } = setup();
    push('a');
    push('b');
    expect(got).toEqual([]);
    inbox.start(sink, 'Test');
    push('c');
    expect(got).toEqual(['a', 'b', 'c']);
    expect(() => inbox.start(sink, 'Test')).toThrow(/Test.start\(\) was called twice/);
  });

  it('holds frames while paused and pauses and resumes its source', () => {
    const { inbox, flow, got, sink, push } = setup();
    inbox.start(sink, 'Test');
    inbox.pause();
    push('a');
    push('b');
    expect(got).toEqual([]);
    inbox.resume();
    expect(got).toEqual(['a', 'b']);
    expect(flow).toEqual(['pause', 'resume']);
  });

  it('reports the end once, after the frames held before it, with the first failure', () => {
    const { inbox, flow, got, closes, sink, push } = setup();
    inbox.start(sink, 'Test');
    inbox.pause();
    push('a');
    const first = new CommunicationError('FrameTooLarge', 'too big');
    inbox.noteFailure(first);
    inbox.end(new CommunicationError('ChannelClosed', 'later'));
    expect(closes).toEqual([]); // paused with a frame held: the sink hears nothing yet
    inbox.resume();
    expect(got).toEqual(['a']);
    expect(closes).toEqual([first]);
    inbox.end();
    push('after');
    expect(closes).toHaveLength(1);
    expect(got).toEqual(['a']);
    expect(flow).toEqual(['pause']); // an ended source is not resumed
  });

  it('drops held and later frames on a local close and records no failure after it', () => {
    const { inbox, got, closes, sink, push } = setup();
    inbox.start(sink, 'Test');
    inbox.pause();
    push('a');
    inbox.drop();
    inbox.noteFailure(new Error('ignored'));
    push('b');
    inbox.resume();
    inbox.end();
    expect(got).toEqual([]);
    expect(closes).toEqual([undefined]);
  });
});
