// `spear-comm conformance spear-comm/plugins/nats` with SPEAR_NATS_URL unset: the plugin's own
// conformance target starts nats-server from PATH on a free port and stops it when the CLI exits.
// Runs the built CLI (npm test builds dist/ first).
import { execFile } from 'node:child_process';
import { connect } from 'node:net';
import { fileURLToPath } from 'node:url';
import { expect, it } from 'vitest';
import type { ConformanceReport } from 'spear-comm/conformance';
import { describeNats } from './support.js';

const root = fileURLToPath(new URL('../..', import.meta.url));

function accepts(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const socket = connect(port, '127.0.0.1');
    socket.once('connect', () => {
      socket.destroy();
      resolve(true);
    });
    socket.once('error', () => resolve(false));
  });
}

describeNats('spear-comm conformance spear-comm/plugins/nats', () => {
  it('starts its own nats-server, passes, and stops the server afterwards', async () => {
    const env: NodeJS.ProcessEnv = { ...process.env };
    delete env.SPEAR_NATS_URL;
    const { code, stdout, stderr } = await new Promise<{ code: number; stdout: string; stderr: string }>((resolve) =>
      execFile(
        process.execPath,
        ['dist/bin/spear-comm.js', 'conformance', 'spear-comm/plugins/nats', '--only', 'lifecycle,backpressure', '--reporter', 'json'],
        { cwd: root, env, maxBuffer: 16 * 1024 * 1024 },
        (error, out, errOut) =>
          resolve({ code: error ? (typeof error.code === 'number' ? error.code : 1) : 0, stdout: out, stderr: errOut }),
      ),
    );
    expect(code, stderr).toBe(0);
    const report = JSON.parse(stdout) as ConformanceReport;
    expect(report.ok).toBe(true);
    expect(report.suites.map((s) => s.transport)).toEqual(['nats']);
    expect(report.suites[0]!.summary.passed).toBeGreaterThan(5);
    const address = new URL(report.suites[0]!.address);
    expect(address.protocol).toBe('nats:');
    // The server it started is gone with it.
    expect(await accepts(Number(address.port))).toBe(false);
  });
});
