import { readdirSync, readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { decodeHandshake, encodeHandshake } from 'spear-comm';
import { CODECS, FIXTURES_DIR, comparable, readFixture, toHex, writeFixture } from './test-support/codecs.js';
import { GOLDEN_MESSAGES } from './test-support/golden-messages.js';

// SPEAR_UPDATE_GOLDEN=1 rewrites the fixtures from the current encoders: only for a deliberate
// change of the wire format, which docs/wire-format.md must then describe too.
const UPDATE = process.env['SPEAR_UPDATE_GOLDEN'] === '1';

describe.each(CODECS)('$name golden vectors', (codec) => {
  it.each(GOLDEN_MESSAGES)('$name: encodes to exactly the fixture and decodes it back', ({ name, message }) => {
    if (UPDATE) writeFixture(name, codec.name, codec.encode(message));
    const fixture = readFixture(name, codec.name);
    expect(toHex(codec.encode(message))).toBe(toHex(fixture));
    expect(comparable(codec.decode(fixture))).toStrictEqual(comparable(message));
  });
});

describe('golden vector files', () => {
  it('are exactly one per message and codec, with nothing stray beside them', () => {
    const expected = GOLDEN_MESSAGES.flatMap(({ name }) => CODECS.map((codec) => `${name}.${codec.name}.hex`)).sort();
    expect(
      readdirSync(FIXTURES_DIR)
        .filter((file) => file.endsWith('.hex'))
        .sort(),
    ).toEqual(expected);
  });

  it('are all shown in docs/wire-format.md, so the reference cannot drift from the encoders', () => {
    const docs = readFileSync(new URL('../docs/wire-format.md', import.meta.url), 'utf8').replace(/\s+/g, '');
    const missing: string[] = [];
    for (const { name } of GOLDEN_MESSAGES) {
      for (const codec of CODECS) {
        const bytes = readFixture(name, codec.name);
        // JSON is shown as the text it is; the binary codecs as hex.
        const shown = codec.name === 'json' ? new TextDecoder().decode(bytes) : toHex(bytes);
        if (!docs.includes(shown.replace(/\s+/g, ''))) missing.push(`${name}.${codec.name}`);
      }
    }
    expect(missing).toEqual([]);
  });

  it('the handshake frames are the json encoding of AuthRequest and AuthResponse', () => {
    for (const { name, message } of GOLDEN_MESSAGES) {
      if (message.type !== 'AuthRequest' && message.type !== 'AuthResponse') continue;
      const fixture = readFixture(name, 'json');
      expect(toHex(encodeHandshake(message)), name).toBe(toHex(fixture));
      expect(comparable(decodeHandshake(fixture, message.type)), name).toStrictEqual(comparable(message));
    }
  });
});
