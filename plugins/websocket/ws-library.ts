// `ws` is an optional peer dependency: only users of ws:// and wss:// install it. It loads here,
// when the plugin loads; if it is missing the plugin does not register and its schemes fail with
// UnsupportedTransport naming the package to install.
import { loadOptional } from 'spear-comm/transport-kit';

const ws = await loadOptional(() => import('ws'), { package: 'ws', transport: 'websocket', schemes: ['ws', 'wss'] });

export const WebSocket = ws.WebSocket;
export type WebSocket = import('ws').WebSocket;
export const WebSocketServer = ws.WebSocketServer;
export type WebSocketServer = import('ws').WebSocketServer;
export type { PerMessageDeflateOptions, RawData } from 'ws';
