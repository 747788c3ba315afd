/** What the bench client asks the bench server process for, and what the server answers. */

export type RawKind = 'tcp' | 'unix' | 'websocket' | 'grpc' | 'nats';

export interface ServerSpec {
  plugins: string[];
  /** spear-comm listeners to open: an echo and a sink for each transport. */
  spear: Array<{ transport: string; echoUrl: string; sinkUrl: string; framesEchoUrl: string; framesSinkUrl: string }>;
  raw: RawKind[];
  host: string;
  /** Where raw unix sockets go. */
  socketDir: string;
  /** Token every spear-comm client must present. */
  secret: string;
}

export interface ServerEndpoints {
  spear: Record<string, { echo: string; sink: string }>;
  /** The transport plugin's own listeners, without spear-comm sessions (see frame-peer.ts). */
  frames: Record<string, { echo: string; sink: string }>;
  raw: {
    tcp?: { host: string; port: number };
    unix?: { path: string };
    websocket?: string;
    grpc?: string;
    /** The nats-server and the raw echo/sink subjects (bench/raw/nats.ts). */
    nats?: { url: string; echo: string; sink: string };
  };
}

/** The server's one line on stdout once everything listens. */
export interface ReadyLine {
  ready: true;
  endpoints: ServerEndpoints;
}

/** Or the line it prints when it could not start. */
export interface FailedLine {
  ready: false;
  error: string;
}

/** The answer to each line the client writes to the server's stdin after ReadyLine. */
export interface CpuLine {
  /** process.cpuUsage() user + system, µs. */
  cpuMicros: number;
}
