import { describeNetworkTransport } from '../../test/support/network-transport-suite.js';

describeNetworkTransport('websocket', 'ws://127.0.0.1:0/spear');
