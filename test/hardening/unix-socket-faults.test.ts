// Where a unix socket cannot be created, listen() fails with ChannelCreationFailed naming the path
// and saying why. Read-only and full file systems are real tmpfs mounts (this needs root, as CI
// here runs); a user without mount rights gets the read-only case from a directory mode instead.
import { execFileSync } from 'node:child_process';
import { chmodSync, mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { CommunicationError, ErrorCode } from 'spear-comm';
import { testBed } from '../support/test-bed.js';

const bed = testBed();
const mounts: string[] = [];
afterAll(() => {
  for (const dir of mounts.splice(0)) execFileSync('umount', [dir]);
});

function tryMountTmpfs(dir: string, options: string): boolean {
  try {
    execFileSync('mount', ['-t', 'tmpfs', '-o', options, 'tmpfs', dir], { stdio: 'ignore' });
    mounts.push(dir);
    return true;
  } catch {
    return false;
  }
}

async function listenError(path: string): Promise<CommunicationError> {
  const error = await bed.kernel.listen(`unix://${path}`).then(
    (listener) => {
      void listener.close();
      throw new Error(`listening on ${path} should have failed`);
    },
    (e: unknown) => e,
  );
  expect(error).toBeInstanceOf(CommunicationError);
  return error as CommunicationError;
}

describe('unix socket in a place it cannot be created', () => {
  it('names the path when the directory does not exist', async () => {
    const path = join(bed.dir, 'missing', 'a.sock');
    const error = await listenError(path);
    expect(error).toMatchObject({ code: ErrorCode.ChannelCreationFailed, message: expect.stringContaining(`unix://${path}`) });
    expect(error.message).toContain('directory does not exist');
  });

  it('says so for a read-only directory', async () => {
    const dir = join(bed.dir, 'ro');
    mkdirSync(dir);
    const asRoot = process.getuid?.() === 0;
    if (asRoot) {
      if (!tryMountTmpfs(dir, 'ro,size=64k')) throw new Error('running as root but cannot mount a read-only tmpfs for this test');
    } else {
      chmodSync(dir, 0o500);
    }
    const path = join(dir, 'a.sock');
    const error = await listenError(path);
    expect(error).toMatchObject({ code: ErrorCode.ChannelCreationFailed, message: expect.stringContaining(`unix://${path}`) });
    expect(error.message).toMatch(asRoot ? /read-only file system/ : /permission denied/);
  });

  it('says the file system is full when it has no inode left for the socket (ENOSPC)', async () => {
    const dir = join(bed.dir, 'full');
    mkdirSync(dir);
    if (!tryMountTmpfs(dir, 'size=64k,nr_inodes=4')) {
      // Without mount rights a full file system cannot be made honestly; the read-only case above still ran.
      expect(process.getuid?.()).not.toBe(0);
      return;
    }
    // Use up the inodes (the root directory holds one).
    for (let i = 0; i < 8; i++) {
      try {
        writeFileSync(join(dir, `filler-${i}`), '');
      } catch (err) {
        expect((err as NodeJS.ErrnoException).code).toBe('ENOSPC');
        break;
      }
    }
    const path = join(dir, 'a.sock');
    const error = await listenError(path);
    expect(error).toMatchObject({ code: ErrorCode.ChannelCreationFailed, message: expect.stringContaining(`unix://${path}`) });
    expect(error.message).toContain('file system is full');
  });
});
