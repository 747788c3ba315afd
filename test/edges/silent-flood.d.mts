export interface StartedListener {
  url: string;
  pid: number;
  stop(): Promise<void>;
}
export interface FloodResult {
  before: number;
  held: number;
  settled: number;
  closedByListener: number;
  opened: number;
}
export function socketFds(pid: number): number;
export function startListener(url: string, maxConnections: number, authTimeoutMs: number): Promise<StartedListener>;
export function silentFlood(listener: StartedListener, count: number, max: number, waitMs: number): Promise<FloodResult>;
