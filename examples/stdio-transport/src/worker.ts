// A worker program: started by a host with connect('stdio:///…/worker.js'), it serves functions
// over its own stdin/stdout. It writes nothing to stdout itself (that carries the frames).
import { createKernel } from 'spear-comm';
import './index.js';

const kernel = await createKernel({ transports: ['stdio'] });
await kernel.listen('stdio:', {
  secret: process.env.WORKER_SECRET ?? '',
  handlers: {
    upper: (input) => new TextEncoder().encode(new TextDecoder().decode(input).toUpperCase()),
    pid: () => new TextEncoder().encode(String(process.pid)),
  },
  // One host, one connection: when it goes, so does the worker.
  onChannel: (channel) => channel.on('close', () => void kernel.close()),
});
