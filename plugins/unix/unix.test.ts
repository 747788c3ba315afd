import { spawn } from 'node:child_process';
import { once } from 'node:events';
import { existsSync, lstatSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { ErrorCode, invoke } from 'spear-comm';
import { testBed } from '../../test/support/test-bed.js';

const bed = testBed();

async function listen(path: string) {
  const listener = await bed.kernel.listen(`unix://${path}`, { handlers: { echo: (input) => input } });
  bed.defer(() => listener.close());
  return listener;
}

async function roundTrip(url: string): Promise<Uint8Array> {
  const channel = await bed.kernel.connect(url, { timeoutMs: 5_000 });
  try {
    return await invoke(channel, 'echo', Uint8Array.of(7));
  } finally {
    await channel.close();
  }
}

/** Leaves a socket file behind the way a crash does: its process listens, then dies by SIGKILL. */
async function staleSocketAt(path: string): Promise<void> {
  const child = spawn(process.execPath, [
    '-e',
    `require('node:net').createServer().listen(${JSON.stringify(path)}, () => process.kill(process.pid, 'SIGKILL'))`,
  ]);
  await once(child, 'exit');
  expect(lstatSync(path).isSocket()).toBe(true);
}

describe('unix://', () => {
  it('creates the socket file with mode 0600, serves on it, and removes it on close', async () => {
    const path = bed.socketPath();
    const listener = await listen(path);
    expect(listener.url).toBe(`unix://${path}`);
    expect(lstatSync(path).mode & 0o777).toBe(0o600);
    expect(await roundTrip(listener.url)).toEqual(Uint8Array.of(7));
    await listener.close();
    expect(existsSync(path)).toBe(false);
  });

  it('replaces a stale socket file left by a process that died', async () => {
    const path = bed.socketPath();
    await staleSocketAt(path);
    await expect(bed.kernel.connect(`unix://${path}`, { timeoutMs: 5_000 })).rejects.toMatchObject({
      code: ErrorCode.ConnectionRefused,
      message: expect.stringContaining('stale'),
    });
    const listener = await listen(path);
    expect(await roundTrip(listener.url)).toEqual(Uint8Array.of(7));
  });

  it('does not steal a socket a live listener owns', async () => {
    const path = bed.socketPath();
    const first = await listen(path);
    await expect(bed.kernel.listen(`unix://${path}`)).rejects.toMatchObject({
      code: ErrorCode.ChannelCreationFailed,
      message: expect.stringContaining(`unix://${path}: it is in use by a running listener`),
    });
    expect(await roundTrip(first.url)).toEqual(Uint8Array.of(7));
  });

  it('does not replace a file that is not a socket', async () => {
    const path = bed.socketPath();
    writeFileSync(path, 'precious');
    await expect(bed.kernel.listen(`unix://${path}`)).rejects.toMatchObject({
      message: expect.stringContaining(`${path} exists and is not a socket`),
    });
    expect(readFileSync(path, 'utf8')).toBe('precious');
  });

  it('takes a path of exactly the OS limit and refuses one byte more, naming the path', async () => {
    const limit = process.platform === 'linux' ? 107 : 103;
    const stem = join(bed.dir, 'x');
    const longest = stem + 'y'.repeat(limit - Buffer.byteLength(stem));
    const listener = await listen(longest);
    expect(existsSync(longest)).toBe(true); // created under its full name, not a truncated one
    expect(await roundTrip(listener.url)).toEqual(Uint8Array.of(7));

    const tooLong = longest + 'z';
    const error = await bed.kernel.listen(`unix://${tooLong}`).catch((e: unknown) => e);
    expect(error).toMatchObject({ code: ErrorCode.ChannelCreationFailed, message: expect.stringContaining(tooLong) });
    expect((error as Error).message).toContain(`${limit + 1} bytes`);
    expect((error as Error).message).toContain('Use a shorter path');
    await expect(bed.kernel.connect(`unix://${tooLong}`)).rejects.toMatchObject({ code: ErrorCode.ChannelCreationFailed });
  });

  it('explains a URL with a host instead of an absolute path', async () => {
    await expect(bed.kernel.listen('unix://relative/a.sock')).rejects.toMatchObject({
      message: expect.stringContaining('unix:///run/spear/a.sock'),
    });
  });

  it('fails with ConnectionRefused naming the path when no socket file exists', async () => {
    const path = bed.socketPath();
    await expect(bed.kernel.connect(`unix://${path}`, { timeoutMs: 5_000 })).rejects.toMatchObject({
      code: ErrorCode.ConnectionRefused,
      message: expect.stringContaining(`unix://${path}`),
    });
  });
});
