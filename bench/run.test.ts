import { describe, expect, it } from 'vitest';
import { Codec, CommunicationError, ErrorCode, type RuntimeMessage } from 'spear-comm';
import { JsonCodec } from '../codecs/json/index.js';
import { parseBenchArgs } from './options.js';
import { runBench } from './run.js';

const json = new JsonCodec();
let decoded = 0;

/** A codec that works for the handshake and a few messages, then refuses everything: a case that breaks mid-run. */
@Codec({ name: 'breaks-later', contentType: 'application/x-breaks-later' })
export class BreaksLaterCodec implements Codec {
  readonly name = 'breaks-later';
  readonly contentType = 'application/x-breaks-later';
  encode(message: RuntimeMessage): Uint8Array {
    return json.encode(message);
  }
  decode(bytes: Uint8Array): RuntimeMessage {
    if (++decoded > 40) throw new CommunicationError(ErrorCode.DecodeFailed, 'breaks-later: refusing from now on');
    return json.decode(bytes);
  }
}

describe('a bench run with a failing case', () => {
  it('records the failed case as a failed row, measures the others, and says memory ran in one process', async () => {
    const options = parseBenchArgs([
      '--transports',
      'memory',
      '--codecs',
      'json,breaks-later',
      '--sizes',
      '64',
      '--modes',
      'rr1',
      '--time',
      '0.05',
      '--no-pin',
    ]);
    const lines: string[] = [];
    const report = await runBench({ ...options, minSamples: 2 }, { log: (line) => lines.push(line) });
    const byName = new Map(report.results.map((r) => [r.name, r]));
    expect(byName.get('memory/json')!.failed).toBeUndefined();
    expect(byName.get('memory/json')!.rate).toBeGreaterThan(0);
    expect(byName.get('memory/json')!.inProcess).toBe(true);
    // The broken codec's cases run first and fail; the json cases after them are still measured.
    const failed = report.results.filter((r) => r.failed !== undefined);
    expect(failed.length).toBeGreaterThan(0);
    expect(failed.every((r) => r.codec === 'breaks-later')).toBe(true);
    expect(failed.map((r) => r.failed).join(' ')).toMatch(/refusing from now on/);
    expect(report.notes.join(' ')).toMatch(/failed/);
    expect(report.notes.join(' ')).toMatch(/memory was measured in one process/);
    expect(lines.some((l) => l.includes('FAILED'))).toBe(true);
  });
});
