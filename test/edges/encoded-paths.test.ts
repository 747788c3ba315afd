// Socket directories whose names need percent-encoding in a URL (`%`, spaces, non-ASCII): the
// listener URL and SPEAR_COMMUNICATION_ADDRESS parse back to the same path, and real instances
// reach their host there — a Node instance (connectFromEnv) and a Python one (standard library).
import { existsSync, mkdirSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, describe, expect, it } from 'vitest';
import { unixUrl } from 'spear-comm/runtime';
import { cleanups, host, socketPath, start, text } from '../runtime/process-support.js';

const PYTHON = '/usr/bin/python3';
const PYTHON_INSTANCE = fileURLToPath(new URL('./fixtures/python_instance.py', import.meta.url));

const base = mkdtempSync(join(tmpdir(), 'spear-paths-'));
afterAll(() => rmSync(base, { recursive: true, force: true }));
const awkward = ['100% done', 'a%20b', 'naïve ☃ 目录', 'q?x#y'];

describe('percent-encoded socket paths', () => {
  it.each(awkward)('unixUrl gives back the path %j through new URL()', (name) => {
    const path = join(base, name, 'x.sock');
    expect(decodeURIComponent(new URL(unixUrl(path)).pathname)).toBe(path);
  });

  it.each(awkward)('a Node instance in a socket directory named %j', async (name) => {
    const socketDir = join(base, `node-${name}`);
    mkdirSync(socketDir, { mode: 0o700 });
    const { kernel, runtime } = await host({ socketDir });
    const instance = await start(runtime, { instanceId: 'paths-node' });
    expect(instance.channel.transport).toBe('unix');
    const path = socketPath(instance.channel.url);
    expect(path.startsWith(`${socketDir}/`)).toBe(true);
    expect(existsSync(path)).toBe(true);
    expect(text(await instance.invoke('upper', Buffer.from('ok')))).toBe('OK');
    await instance.stop();
    await kernel.close();
  });

  it.skipIf(!existsSync(PYTHON)).each(awkward)('a Python instance in a socket directory named %j', async (name) => {
    const socketDir = join(base, `py-${name}`);
    mkdirSync(socketDir, { mode: 0o700 });
    const { kernel, runtime } = await host({ socketDir });
    const instance = await runtime.spawn({
      instanceId: 'paths-python',
      command: PYTHON,
      args: [PYTHON_INSTANCE],
      startTimeoutMs: 15_000,
    });
    cleanups.push(() => instance.stop().then(() => undefined));
    // The instance answers with the path it decoded from SPEAR_COMMUNICATION_ADDRESS.
    const decoded = text(await instance.invoke('where', new Uint8Array()));
    expect(decoded).toBe(socketPath(instance.channel.url));
    expect(decoded.startsWith(`${socketDir}/`)).toBe(true);
    await instance.stop();
    await kernel.close();
  });
});
