// A host that starts a worker process and calls its functions over the worker's stdin/stdout.
import { fileURLToPath, pathToFileURL } from 'node:url';
import { createKernel, generateSecret, invoke } from 'spear-comm';
import './index.js';

const worker = fileURLToPath(new URL('./worker.js', import.meta.url));
const secret = generateSecret();
const kernel = await createKernel({ transports: ['stdio'] });
try {
  const channel = await kernel.connect(`stdio://${pathToFileURL(worker).pathname}`, {
    token: secret,
    instanceId: 'stdio-worker-1',
    extra: { env: { WORKER_SECRET: secret } },
  });
  const answer = await invoke(channel, 'upper', new TextEncoder().encode('hello over stdio'));
  const pid = new TextDecoder().decode(await invoke(channel, 'pid', new Uint8Array(0)));
  console.log(`worker (pid ${pid}) answered: ${new TextDecoder().decode(answer)}`);
} finally {
  await kernel.close();
}
