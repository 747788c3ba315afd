import { parseArgs } from 'node:util';
import { createKernel, invoke } from 'spear-comm';

/** Until the runtime layer lands: a host and an instance in one process doing request/response. */
export async function runDemo(args: string[]): Promise<number> {
  const { values } = parseArgs({ args, options: { help: { type: 'boolean' }, requests: { type: 'string', default: '1000' } } });
  if (values.help) {
    process.stdout.write('Usage: spear-comm demo [--requests N]\n');
    return 0;
  }
  const requests = Number(values.requests);
  const kernel = await createKernel();
  try {
    const listener = await kernel.listen('memory://demo', {
      secret: 'demo-secret',
      handlers: { upper: (input) => Buffer.from(Buffer.from(input).toString('utf8').toUpperCase()) },
    });
    const channel = await kernel.connect(listener.url, { token: 'demo-secret', instanceId: 'demo-1' });
    const answer = await invoke(channel, 'upper', Buffer.from('hello from spear-comm'));
    process.stdout.write(`upper("hello from spear-comm") = ${Buffer.from(answer).toString('utf8')}\n`);
    await Promise.all(Array.from({ length: requests }, (_, i) => invoke(channel, 'upper', Buffer.from(`request ${i}`))));
    const s = channel.stats();
    process.stdout.write(`${s.requests} requests over ${s.transport}/${s.codec}: p50 ${s.latencyMs.p50.toFixed(3)} ms, p99 ${s.latencyMs.p99.toFixed(3)} ms\n`);
    return 0;
  } finally {
    await kernel.close();
  }
}
