import { generate } from 'selfsigned';
import { createKernel, registeredTransports, type TlsOptions } from 'spear-comm';
import { defaultAddress, runConformance, type Category } from 'spear-comm/conformance';

// Every built-in transport that is installed must pass the whole kit. Those that offer TLS run it
// again over TLS for framing (TLS records cut frames differently) and bad input (which includes
// refusing a client that does not trust the certificate); the rest runs the same code as without TLS.
const TLS_CATEGORIES: Category[] = ['framing', 'bad-input'];

const kernel = await createKernel();
const installed = kernel.transports().map((name) => ({
  name,
  // TLS runs need both the capability and a TLS scheme the kit knows how to listen on.
  tls: kernel.transport(name).capabilities.tls === true && defaultAddress(registeredTransports().find((t) => t.meta.name === name)!.meta.schemes, true) !== undefined,
}));
await kernel.close();

let tls: { listen: TlsOptions; connect: TlsOptions } | undefined;
if (installed.some((t) => t.tls)) {
  const pems = await generate([{ name: 'commonName', value: 'localhost' }], {
    keyType: 'ec',
    algorithm: 'sha256',
    extensions: [{ name: 'subjectAltName', altNames: [{ type: 2, value: 'localhost' }, { type: 7, ip: '127.0.0.1' }] }],
  });
  tls = { listen: { cert: pems.cert, key: pems.private }, connect: { ca: pems.cert } };
}

for (const transport of installed) {
  await runConformance({ transport: transport.name });
  if (transport.tls && tls) {
    await runConformance({ transport: transport.name, tls, only: TLS_CATEGORIES });
  }
}
