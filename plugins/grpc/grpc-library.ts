// `@grpc/grpc-js` is an optional peer dependency: only users of grpc:// and grpcs:// install it.
// It loads here, when the plugin loads; if it is missing the plugin does not register and its
// schemes fail with UnsupportedTransport naming the package to install.
import { loadOptional } from 'spear-comm/transport-kit';

const grpc = await loadOptional(() => import('@grpc/grpc-js'), { package: '@grpc/grpc-js', transport: 'grpc', schemes: ['grpc', 'grpcs'] });

type Grpc = typeof import('@grpc/grpc-js');
export const Client: Grpc['Client'] = grpc.Client;
export type Client = import('@grpc/grpc-js').Client;
export const Metadata: Grpc['Metadata'] = grpc.Metadata;
export type Metadata = import('@grpc/grpc-js').Metadata;
export const Server: Grpc['Server'] = grpc.Server;
export type Server = import('@grpc/grpc-js').Server;
export const ServerCredentials: Grpc['ServerCredentials'] = grpc.ServerCredentials;
export type ServerCredentials = import('@grpc/grpc-js').ServerCredentials;
export const ServerInterceptingCall: Grpc['ServerInterceptingCall'] = grpc.ServerInterceptingCall;
export type ServerInterceptingCall = import('@grpc/grpc-js').ServerInterceptingCall;
export const credentials: Grpc['credentials'] = grpc.credentials;
export const Status: Grpc['status'] = grpc.status;
export type Status = import('@grpc/grpc-js').status;
export type {
  ChannelCredentials,
  ChannelOptions,
  ClientDuplexStream,
  ServerDuplexStream,
  ServerInterceptor,
  ServerOptions,
  ServiceDefinition,
  StatusObject,
} from '@grpc/grpc-js';
