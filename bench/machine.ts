import { execFileSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import os from 'node:os';
import type { MachineInfo } from './model.js';

function packageVersion(): string {
  try {
    const pkg = JSON.parse(readFileSync(new URL('../../package.json', import.meta.url), 'utf8')) as { version?: string };
    return pkg.version ?? 'unknown';
  } catch {
    return 'unknown';
  }
}

function gitCommit(): string | undefined {
  try {
    return (
      execFileSync('git', ['rev-parse', '--short', 'HEAD'], { stdio: ['ignore', 'pipe', 'ignore'], cwd: new URL('../..', import.meta.url) })
        .toString()
        .trim() || undefined
    );
  } catch {
    return undefined;
  }
}

export function describeMachine(pinning: string, loadAverageStart: number): MachineInfo {
  const cpus = os.cpus();
  const commit = gitCommit();
  return {
    cpu: cpus[0]?.model.trim() || 'unknown',
    cores: cpus.length,
    node: process.version,
    v8: process.versions.v8,
    platform: `${os.platform()} ${os.release()} ${os.arch()}`,
    totalMemoryGiB: Math.round((os.totalmem() / 1024 ** 3) * 10) / 10,
    loadAverageStart,
    loadAverageEnd: os.loadavg()[0]!,
    pinning,
    spearCommVersion: packageVersion(),
    ...(commit ? { gitCommit: commit } : {}),
  };
}

/**
 * Where the server and this (client) process run. With two or more CPUs and `taskset`
 * available, the server gets CPU 0 and every thread of this process CPU 1: otherwise the
 * scheduler's placement of the two decides a cross-process ping-pong's speed (up to 3× apart).
 */
export function pinProcesses(wanted: boolean): { serverCpu?: number; description: string } {
  if (!wanted) return { description: 'not pinned (--no-pin)' };
  if (os.cpus().length < 2) return { description: 'not pinned (fewer than 2 CPUs)' };
  try {
    execFileSync('taskset', ['-a', '-cp', '1', String(process.pid)], { stdio: 'ignore' });
  } catch {
    return { description: 'not pinned (taskset is not available)' };
  }
  return { serverCpu: 0, description: 'server on CPU 0, client on CPU 1 (taskset)' };
}
