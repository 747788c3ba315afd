import { afterEach, describe, expect, it } from 'vitest';
import { CommunicationError, ErrorCode, createKernel, unavailableTransports, type Kernel } from 'spear-comm';
import { loadOptional } from 'spear-comm/transport-kit';

const kernels: Kernel[] = [];
afterEach(async () => {
  await Promise.all(kernels.splice(0).map((k) => k.close()));
});

/** `import()` of a package that is not installed (a variable, so the compiler does not look for it). */
const importByName = (name: string): Promise<unknown> => import(/* @vite-ignore */ name);

async function rejection(promise: Promise<unknown>): Promise<CommunicationError> {
  const err = await promise.then(
    () => undefined,
    (e: unknown) => e,
  );
  expect(CommunicationError.is(err), `expected a CommunicationError, got ${String(err)}`).toBe(true);
  return err as CommunicationError;
}

describe('loadOptional', () => {
  it('returns the library when it is installed', async () => {
    const path = await loadOptional(() => import('node:path'), { package: 'node:path', transport: 'present', schemes: ['present'] });
    expect(path.join('a', 'b')).toBe(`a${path.sep}b`);
    expect(unavailableTransports().map((u) => u.meta.name)).not.toContain('present');
  });

  it('fails with UnsupportedTransport naming the package to install when it is missing', async () => {
    const err = await rejection(
      loadOptional(() => importByName('spear-comm-test-no-such-package'), {
        package: 'spear-comm-test-no-such-package',
        transport: 'ghost',
        schemes: ['ghost', 'ghosts'],
      }),
    );
    expect(err.code).toBe(ErrorCode.UnsupportedTransport);
    expect(err.message).toContain('npm install spear-comm-test-no-such-package');
    expect(err.message).toContain('ghost://, ghosts://');
  });

  it('makes a kernel answer the missing transport’s schemes with that reason, on connect and on listen', async () => {
    await rejection(
      loadOptional(() => importByName('spear-comm-test-missing-2'), {
        package: 'spear-comm-test-missing-2',
        transport: 'phantom',
        schemes: ['phantom'],
      }),
    );
    const kernel = await createKernel({ builtins: false });
    kernels.push(kernel);
    const onConnect = await rejection(kernel.connect('phantom://127.0.0.1:1'));
    expect(onConnect.code).toBe(ErrorCode.UnsupportedTransport);
    expect(onConnect.message).toContain('needs the package "spear-comm-test-missing-2"');
    const onListen = await rejection(kernel.listen('phantom://127.0.0.1:0'));
    expect(onListen.message).toBe(onConnect.message);
    // A scheme nobody claimed still gets the generic answer.
    const other = await rejection(kernel.connect('nobody://127.0.0.1:1'));
    expect(other.message).toContain('No transport handles "nobody://"');
  });

  it('reports a library that is installed but throws while loading, with its message', async () => {
    const err = await rejection(
      loadOptional(() => Promise.reject(new Error('native binding failed')), {
        package: 'broken-lib',
        transport: 'broken',
        schemes: ['broken'],
      }),
    );
    expect(err.code).toBe(ErrorCode.UnsupportedTransport);
    expect(err.message).toContain('could not load its library "broken-lib": native binding failed');
    expect(err.message).not.toContain('npm install');
  });
});
