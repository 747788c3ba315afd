import { describe, expect, it } from 'vitest';
import { CommunicationError, ErrorCode } from 'spear-comm';
import { formatReport, runSuite, runSuites, type ConformanceCase } from 'spear-comm/conformance';
import './mutants/control.js';

const control = { transport: 'mutant-control', address: () => 'mutant-control://', waitMs: 2_000 };

describe('the conformance engine', () => {
  it('reports cases the capability manifest rules out as unsupported, with the reason, and runs the rest', async () => {
    const report = await runSuite(
      { ...control, capabilities: { ordered: false, maxFrameSize: 60_000 } },
      { only: ['framing', 'isolation', 'request-response'] },
    );
    const unsupported = report.results.filter((r) => r.status === 'unsupported');
    expect(unsupported.map((r) => r.reason)).toEqual(
      expect.arrayContaining([
        'the transport does not promise ordered delivery (capabilities.ordered is false)',
        'needs frames of 1048583 bytes; capabilities.maxFrameSize is 60000',
      ]),
    );
    expect(unsupported.map((r) => r.name)).toEqual(
      expect.arrayContaining([
        '10,000 small frames sent at once arrive complete and in order, both ways at the same time',
        'answers go to request(), other messages to receive(), even when they interleave',
      ]),
    );
    // Without the order promise, frames are compared as a multiset, and the rest still passes.
    expect(report.results.filter((r) => r.status === 'failed')).toEqual([]);
    expect(report.summary.passed).toBeGreaterThan(10);
    expect(report.summary.unsupported).toBe(unsupported.length);
    const junit = formatReport({ ...(await runSuites([])), suites: [report], summary: report.summary }, 'junit');
    expect(junit).toContain(
      '<skipped message="unsupported: the transport does not promise ordered delivery (capabilities.ordered is false)"/>',
    );
  }, 60_000);

  it('keeps a flood of failures to a few KB: identical ones collapsed with a count, long ones cut', async () => {
    const flooding: ConformanceCase = {
      category: 'framing',
      name: 'fails loudly',
      async run() {
        // What a transport that merges every frame of a tick used to produce: the same rejection 1,000 times, one huge line.
        for (let i = 0; i < 1_000; i++) void Promise.reject(new Error('send() of frame #7 rejected: connection closed'));
        await new Promise((resolve) => setImmediate(resolve));
        throw new Error(`frame content is wrong: ${'ab'.repeat(24_000)}`);
      },
    };
    const report = await runSuite(control, { cases: [flooding] });
    const [result] = report.results;
    expect(result!.status).toBe('failed');
    const text = JSON.stringify(result!.failures);
    expect(text.length).toBeLessThan(8_000);
    expect(text).toMatch(/×1000/);
    expect(text).toMatch(/characters cut/);
  });

  it('reports a case that finds out while running that it does not apply as unsupported, never passed', async () => {
    const optional: ConformanceCase = {
      category: 'framing',
      name: 'needs an optional method',
      run: (ctx) => ctx.notApplicable('the connections lack it'),
    };
    const report = await runSuite(control, { cases: [optional] });
    expect(report.results.map((r) => [r.status, r.reason])).toEqual([['unsupported', 'the connections lack it']]);
  });

  it('fails a case that leaves a timer running, in the leak phase, naming what is left', async () => {
    let leaked: NodeJS.Timeout | undefined;
    const leaky: ConformanceCase = {
      category: 'lifecycle',
      name: 'leaves an interval running',
      async run() {
        leaked = setInterval(() => {}, 60_000);
      },
    };
    const report = await runSuite(control, { cases: [leaky] });
    clearInterval(leaked);
    const [result] = report.results;
    expect(result!.status).toBe('failed');
    expect(result!.failures).toEqual([
      expect.objectContaining({
        phase: 'leak',
        message: expect.stringMatching(
          /^still active 2000 ms after everything was closed: 1 × Timeout created at .*conformance\/engine\.test\.ts:\d+:\d+\)? \(timers/,
        ),
      }),
    ]);
  });

  it('fails a case that hangs at its time limit, still tears it down, and records unhandled rejections', async () => {
    const hangs: ConformanceCase = {
      category: 'lifecycle',
      name: 'opens a channel and never finishes',
      timeoutMs: 300,
      async run(ctx) {
        await ctx.channelPair();
        void Promise.reject(new CommunicationError(ErrorCode.ChannelClosed, 'nobody handled me'));
        await new Promise(() => {});
      },
    };
    const report = await runSuite(control, { cases: [hangs] });
    const messages = report.results[0]!.failures!.map((f) => `${f.phase}: ${f.message}`);
    expect(messages).toEqual(
      expect.arrayContaining([
        'run: the case did not finish within its 300 ms time limit',
        'run: unhandled promise rejection: CommunicationError(ChannelClosed): nobody handled me',
      ]),
    );
    // The channel pair it opened was closed by teardown: nothing leaked.
    expect(messages.some((m) => m.startsWith('leak'))).toBe(false);
  });

  it('renders failures readably and escapes them for XML', async () => {
    const failing: ConformanceCase = {
      category: 'framing',
      name: 'a <frame> & "quotes"',
      async run() {
        throw new Error('bytes 0x00 \u0001 <b>');
      },
    };
    const report = await runSuites([control], { cases: [failing] });
    expect(report.ok).toBe(false);
    const pretty = formatReport(report, 'pretty');
    expect(pretty).toContain('✗ a <frame> & "quotes"');
    expect(pretty).toContain('[run] Error: bytes 0x00 \u0001 <b>');
    expect(pretty.trimEnd().split('\n').at(-1)).toBe('1 transport(s): 0 passed, 1 failed, 0 unsupported — FAILED');
    const junit = formatReport(report, 'junit');
    expect(junit).toContain('name="a &lt;frame&gt; &amp; &quot;quotes&quot;"');
    expect(junit).toContain('[run] Error: bytes 0x00 ? &lt;b&gt;');
    expect(junit).not.toContain('\u0001');
  });

  it('reports a transport that is not registered as a suite that could not run', async () => {
    const report = await runSuites([{ transport: 'no-such-transport' }]);
    expect(report.ok).toBe(false);
    expect(report.suites[0]!.error).toMatch(
      /^No transport named "no-such-transport" is registered \(registered: .*mutant-control.*\); pass the module that registers it in `plugins`$/,
    );
  });
});
