import { execFile } from 'node:child_process';
import { existsSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { ProtobufCodec, RUNTIME_MESSAGE_PROTO } from 'spear-comm/codecs/protobuf';
import { anyMessage } from '../test-support/arbitraries.js';
import { CODECS, FIXTURES_DIR, comparable, readFixture, toHex } from '../test-support/codecs.js';
import { GOLDEN_MESSAGES } from '../test-support/golden-messages.js';
import { decodeByTheDocs } from '../test-support/proto-by-the-docs.js';

const root = fileURLToPath(new URL('../../', import.meta.url));
const protobuf = new ProtobufCodec();

describe('protobuf codec schema', () => {
  it('is the .proto file the package ships, in package spear.v1', () => {
    expect(RUNTIME_MESSAGE_PROTO).toBe('proto/spear/v1/runtime_message.proto');
    const proto = readFileSync(`${root}${RUNTIME_MESSAGE_PROTO}`, 'utf8');
    expect(proto).toMatch(/^package spear\.v1;$/m);
    expect(proto).toMatch(/^message RuntimeMessage \{$/m);
    const manifest = JSON.parse(readFileSync(`${root}package.json`, 'utf8')) as { files: string[]; exports: Record<string, unknown> };
    expect(manifest.files).toContain('proto');
    expect(manifest.exports['./proto/*']).toBe('./proto/*');
  });

  it.each(GOLDEN_MESSAGES)(
    '$name: the golden vector decodes with a reader written from the docs’ field table alone',
    ({ name, message }) => {
      expect(comparable(decodeByTheDocs(readFixture(name, 'protobuf')))).toStrictEqual(comparable(message));
    },
  );

  it('every encoded message decodes the same with the docs’ field table', () => {
    fc.assert(
      fc.property(anyMessage, (message) => {
        expect(comparable(decodeByTheDocs(protobuf.encode(message)))).toStrictEqual(comparable(message));
      }),
      { numRuns: 300 },
    );
  });

  it('keeps -0 in double fields (json and cbor send it as 0)', () => {
    const back = protobuf.decode(protobuf.encode({ type: 'Ack', requestId: '', timestamp: -0, metadata: {} }));
    expect(Object.is(back.timestamp, -0)).toBe(true);
  });

  it('refuses to encode what uint64 cannot hold, instead of sending something else', () => {
    for (const sequence of [-1, 1.5, 2 ** 53]) {
      expect(() => protobuf.encode({ type: 'Heartbeat', requestId: '', timestamp: 0, metadata: {}, sequence })).toThrow(
        /Heartbeat.sequence must be an integer from 0 to 2\^53-1/,
      );
    }
  });
});

describe('the built package', () => {
  it('encodes every golden vector identically from dist/, run from another directory', async () => {
    const script = fileURLToPath(new URL('../test-support/transcode-from-dist.mjs', import.meta.url));
    expect(existsSync(`${root}dist/codecs/protobuf/index.js`), 'run `npm run build` first').toBe(true);
    const { stdout } = await promisify(execFile)(process.execPath, [script, FIXTURES_DIR, ...GOLDEN_MESSAGES.map((g) => g.name)], {
      cwd: tmpdir(),
    });
    const produced = JSON.parse(stdout) as Record<string, string>;
    const expected: Record<string, string> = {};
    for (const { name } of GOLDEN_MESSAGES)
      for (const codec of CODECS) expected[`${name}.${codec.name}`] = toHex(readFixture(name, codec.name));
    expect(produced).toEqual(expected);
  });
});
