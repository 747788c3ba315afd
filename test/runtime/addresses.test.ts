import { dirname, join } from 'node:path';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { createKernel } from 'spear-comm';
import { CommunicationFactory, UNIX_PATH_MAX, instanceAddress, socketFileName, unixPathProblem, unixSocketPath } from 'spear-comm/runtime';

const SAFE_NAME = /^[A-Za-z0-9_][A-Za-z0-9_-]{0,39}-[0-9a-f]{16}\.sock$/;
const DIR = '/tmp/spear-AbC123';

describe('per-instance socket paths', () => {
  const hostile = [
    '../../etc/x',
    'a/b',
    'a\\b',
    'nul\0byte',
    'x'.repeat(300),
    'x'.repeat(299) + 'y',
    '..',
    '.',
    '/',
    '-rf',
    ' ',
    'ünïcödé',
    '\n',
    'a_b',
    'a b',
  ];

  it.each(hostile.map((id) => [JSON.stringify(id).slice(0, 40), id]))('%s stays a single safe file name inside the directory', (_, id) => {
    const name = socketFileName(id);
    expect(name).toMatch(SAFE_NAME);
    const path = unixSocketPath(DIR, id);
    expect(dirname(path)).toBe(DIR);
    expect(path).toBe(join(DIR, name));
    expect(unixPathProblem(path)).toBeUndefined();
  });

  it('gives every hostile id its own name, including ids that differ only where they were filtered or cut', () => {
    const names = hostile.map(socketFileName);
    expect(new Set(names).size).toBe(hostile.length);
    // 'a/b', 'a\\b', 'a_b' and 'a b' share their readable part; the hash keeps them apart.
    expect(socketFileName('a/b').slice(0, 4)).toBe(socketFileName('a_b').slice(0, 4));
  });

  it('keeps readable ids readable', () => {
    expect(socketFileName('worker-001')).toMatch(/^worker-001-[0-9a-f]{16}\.sock$/);
  });

  it('holds for any string: safe, bounded, distinct', () => {
    fc.assert(
      fc.property(fc.uniqueArray(fc.string({ unit: 'grapheme', minLength: 1, maxLength: 400 }), { minLength: 2, maxLength: 20 }), (ids) => {
        const names = ids.map(socketFileName);
        for (const name of names) {
          expect(name).toMatch(SAFE_NAME);
          expect(name.length).toBeLessThanOrEqual(62);
        }
        expect(new Set(names).size).toBe(ids.length);
      }),
    );
  });

  it('keeps ids apart that differ only in lone surrogates or control characters', () => {
    const ids = ['\uD800', '\uD801', '\uDC00', '\0', '\x01'];
    expect(new Set(ids.map(socketFileName)).size).toBe(ids.length);
    fc.assert(
      fc.property(fc.uniqueArray(fc.string({ unit: 'binary', minLength: 1, maxLength: 8 }), { minLength: 2, maxLength: 30 }), (many) => {
        expect(new Set(many.map(socketFileName)).size).toBe(many.length);
      }),
    );
  });

  it('refuses an empty id', () => {
    expect(() => socketFileName('')).toThrow(/non-empty/);
  });

  it('reports a path over the OS limit', () => {
    const long = join('/tmp', 'd'.repeat(80), socketFileName('x'));
    expect(unixPathProblem(long)).toMatch(new RegExp(`over the OS limit of ${UNIX_PATH_MAX}`));
    expect(unixPathProblem('/tmp/a.sock')).toBeUndefined();
  });

  it('builds one address per scheme, each instance its own', async () => {
    const context = (instanceId: string) => ({ instanceId, socketDir: async () => DIR, host: '127.0.0.1', port: 0 });
    expect(await instanceAddress('unix', context('a/b'))).toBe(`unix://${DIR}/${socketFileName('a/b')}`);
    expect(await instanceAddress('tcp', context('a'))).toBe('tcp://127.0.0.1:0');
    expect(await instanceAddress('grpc', { ...context('a'), host: '::1' })).toBe('grpc://[::1]:0');
    const memory = [await instanceAddress('memory', context('a/b')), await instanceAddress('memory', context('a_b'))];
    expect(memory[0]).not.toBe(memory[1]);
    for (const url of memory) expect(new URL(url).host).toBe(url.slice('memory://'.length));
    await expect(instanceAddress('unix', { ...context('x'), socketDir: async () => '/tmp/' + 'd'.repeat(90) })).rejects.toThrow(
      /over the OS limit/,
    );
  });

  it('makes its private socket directory 0700 and removes it on close', async () => {
    const { statSync, existsSync } = await import('node:fs');
    const kernel = await createKernel();
    const factory = new CommunicationFactory(kernel);
    const dir = await factory.socketDir();
    expect(statSync(dir).mode & 0o777).toBe(0o700);
    await factory.close();
    expect(existsSync(dir)).toBe(false);
    await kernel.close();
    expect(() => new CommunicationFactory(kernel, { socketDir: 'relative/dir' })).toThrow(/absolute/);
  });
});
