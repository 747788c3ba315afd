import { execFile } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';

// A real child process on the built package (dist/, built by `npm test` before vitest), with
// `ws` and `@grpc/grpc-js` made unresolvable by a resolve hook: what a user who installed
// spear-comm without those optional peer dependencies gets.
const root = fileURLToPath(new URL('..', import.meta.url));

function runWithout(packages: string[]): Promise<{ code: number; stdout: string; stderr: string }> {
  return new Promise((resolve) => {
    execFile(
      process.execPath,
      ['--import', './test/fixtures/hide-packages.mjs', 'test/fixtures/report-unavailable.mjs'],
      { cwd: root, env: { ...process.env, SPEAR_HIDE_PACKAGES: packages.join(',') } },
      (error, stdout, stderr) => resolve({ code: error ? (typeof error.code === 'number' ? error.code : 1) : 0, stdout, stderr }),
    );
  });
}

interface Report {
  transports: string[];
  unavailable: Array<{ module: string; reason: string }>;
  logs: Array<{ level: string; message: string }>;
  ws: { code: string; message: string };
  grpc: { code: string; message: string };
  echoed: string;
}

describe('a transport whose library is not installed', () => {
  it('is reported by createKernel and its schemes fail naming the package, while the rest works', async () => {
    const { code, stdout, stderr } = await runWithout(['ws', '@grpc/grpc-js']);
    expect(code, stderr).toBe(0);
    const report = JSON.parse(stdout) as Report;
    expect(report.transports).toEqual(expect.arrayContaining(['memory', 'tcp', 'unix']));
    expect(report.transports).not.toContain('websocket');
    expect(report.transports).not.toContain('grpc');
    expect(report.unavailable.map((u) => u.module).sort()).toEqual(['spear-comm/plugins/grpc', 'spear-comm/plugins/websocket']);
    expect(report.ws.code).toBe('UnsupportedTransport');
    expect(report.ws.message).toContain('npm install ws');
    expect(report.grpc.code).toBe('UnsupportedTransport');
    expect(report.grpc.message).toContain('npm install @grpc/grpc-js');
    // Reported through the logger too: quietly (info), since a missing optional library is expected.
    expect(report.logs.filter((l) => l.message.includes('spear-comm/plugins/websocket')).map((l) => l.level)).toEqual(['info']);
    expect(report.echoed).toBe('still works');
  });

  it('with everything installed, nothing is unavailable (the same script, nothing hidden)', async () => {
    const { code, stdout, stderr } = await runWithout([]);
    expect(code, stderr).toBe(0);
    const report = JSON.parse(stdout) as Report;
    expect(report.unavailable).toEqual([]);
    expect(report.transports).toEqual(expect.arrayContaining(['websocket', 'grpc']));
    expect(report.ws.code).toBe('ConnectionRefused');
  });
});
