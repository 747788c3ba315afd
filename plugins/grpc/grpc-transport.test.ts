import { describeNetworkTransport } from '../../test/support/network-transport-suite.js';

describeNetworkTransport('grpc', 'grpc://127.0.0.1:0');
