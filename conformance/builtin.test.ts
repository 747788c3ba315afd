import { generate } from 'selfsigned';
import { createKernel, registeredTransports, type TlsOptions } from 'spear-comm';
import { ALL_CASES, defaultAddress, runConformance } from 'spear-comm/conformance';

// Every built-in transport that is installed must pass the whole kit. Those that offer TLS run it
// again over TLS for framing (TLS records cut frames differently) and for refusing a client that
// does not trust the certificate; the rest runs the same code as without TLS.
const TLS_CASES = ALL_CASES.filter((c) => c.category === 'framing' || c.name.includes('does not trust the server certificate'));

const kernel = await createKernel();
// nats needs a nats-server: test/nats/conformance.test.ts runs the kit against one it starts.
const installed = kernel
  .transports()
  .filter((name) => name !== 'nats')
  .map((name) => ({
    name,
    // TLS runs need both the capability and a TLS scheme the kit knows how to listen on.
    tls:
      kernel.transport(name).capabilities.tls === true &&
      defaultAddress(registeredTransports().find((t) => t.meta.name === name)!.meta.schemes, true) !== undefined,
  }));
await kernel.close();

let tls: { listen: TlsOptions; connect: TlsOptions } | undefined;
if (installed.some((t) => t.tls)) {
  const pems = await generate([{ name: 'commonName', value: 'localhost' }], {
    keyType: 'ec',
    algorithm: 'sha256',
    extensions: [
      {
        name: 'subjectAltName',
        altNames: [
          { type: 2, value: 'localhost' },
          { type: 7, ip: '127.0.0.1' },
        ],
      },
    ],
  });
  tls = { listen: { cert: pems.cert, key: pems.private }, connect: { ca: pems.cert } };
}

/**
 * Where a built-in transport does not meet the contract yet. Each entry still runs and must still
 * fail; when the transport is fixed its test turns red until the entry is removed.
 */
const KNOWN_FAILURES: Record<string, Record<string, string>> = {};

for (const transport of installed) {
  const knownFailures = KNOWN_FAILURES[transport.name] ?? {};
  await runConformance({ transport: transport.name }, { knownFailures });
  if (transport.tls && tls) {
    const relevant = Object.fromEntries(Object.entries(knownFailures).filter(([name]) => TLS_CASES.some((c) => c.name === name)));
    await runConformance({ transport: transport.name, tls }, { names: TLS_CASES.map((c) => c.name), knownFailures: relevant });
  }
}
