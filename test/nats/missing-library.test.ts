// Without @nats-io/transport-node, nats:// fails with UnsupportedTransport naming the package, and
// everything else still works. A child process hides the package with a module resolve hook; the
// child runs the built package (needs `npm run build`).
import { execFile } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { expect, it } from 'vitest';

it('nats:// without @nats-io/transport-node fails with UnsupportedTransport naming the package; tcp still works', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'spear-no-nats-'));
  try {
    writeFileSync(
      join(dir, 'hooks.mjs'),
      `export async function resolve(specifier, context, next) {
  if (specifier.startsWith('@nats-io/')) {
    const error = new Error("Cannot find package '" + specifier + "'");
    error.code = 'ERR_MODULE_NOT_FOUND';
    throw error;
  }
  return next(specifier, context);
}
`,
    );
    writeFileSync(
      join(dir, 'register.mjs'),
      `import { register } from 'node:module';\nregister(new URL('./hooks.mjs', import.meta.url));\n`,
    );
    const core = pathToFileURL(join(process.cwd(), 'dist/core/index.js')).href;
    writeFileSync(
      join(dir, 'main.mjs'),
      `import { createKernel, invoke } from ${JSON.stringify(core)};
const kernel = await createKernel();
const out = { transports: kernel.transports() };
try { await kernel.connect('nats://127.0.0.1:4222/spear.x', { token: 't', timeoutMs: 2000 }); out.connected = true; }
catch (err) { out.code = err.code; out.message = err.message; }
const listener = await kernel.listen('tcp://127.0.0.1:0', { secret: 's', handlers: { echo: (i) => i } });
const channel = await kernel.connect(listener.url, { token: 's' });
out.tcp = [...(await invoke(channel, 'echo', new Uint8Array([7])))];
await kernel.close();
console.log(JSON.stringify(out));
`,
    );
    const stdout = await new Promise<string>((resolve, reject) =>
      execFile(process.execPath, ['--import', pathToFileURL(join(dir, 'register.mjs')).href, join(dir, 'main.mjs')], (err, out, errOut) =>
        err ? reject(new Error(`${err.message}\n${errOut}`)) : resolve(out),
      ),
    );
    const result = JSON.parse(stdout.trim().split('\n').pop()!) as { transports: string[]; code?: string; message?: string; tcp: number[] };
    expect(result.transports).toContain('nats');
    expect(result.code).toBe('UnsupportedTransport');
    expect(result.message).toMatch(/npm install @nats-io\/transport-node/);
    expect(result.tcp).toEqual([7]);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});
