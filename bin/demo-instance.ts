// The program the demo host spawns for each process-style instance: it connects back to the host
// from its SPEAR_* environment and serves the demo functions until the host stops it.
import { connectFromEnv } from 'spear-comm/runtime';
import { demoFunctions } from './demo-functions.js';

try {
  const channel = await connectFromEnv({
    handlers: demoFunctions,
    // A host that restarts its listener gets its instances back; a host that is gone for good does not keep them alive forever.
    reconnect: { kind: 'exponential', initialMs: 50, maxMs: 1_000, maxAttempts: 5 },
  });
  process.once('SIGTERM', () => void channel.close().finally(() => process.exit(0)));
} catch (err) {
  process.stderr.write(`demo instance ${process.env.SPEAR_INSTANCE_ID ?? '?'}: ${err instanceof Error ? err.message : String(err)}\n`);
  process.exit(2);
}
