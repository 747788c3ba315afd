// The instance `spear-comm bench pool` spawns: connects back from its SPEAR_* environment and echoes.
import { connectFromEnv } from 'spear-comm/runtime';

// BENCH_POOL_WORK_US: CPU time each call burns before answering, to stand in for real work.
const workUs = Number(process.env.BENCH_POOL_WORK_US ?? 0);

try {
  const channel = await connectFromEnv({
    handlers: {
      echo: (input) => {
        if (workUs > 0) {
          const until = performance.now() + workUs / 1000;
          while (performance.now() < until);
        }
        return input;
      },
    },
  });
  process.once('SIGTERM', () => void channel.close().finally(() => process.exit(0)));
} catch (err) {
  process.stderr.write(`bench pool worker: ${err instanceof Error ? err.message : String(err)}\n`);
  process.exit(2);
}
