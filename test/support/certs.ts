import selfsigned from 'selfsigned';

export interface TestCert {
  cert: string;
  key: string;
}

/** A throwaway self-signed certificate for `localhost` and 127.0.0.1. */
export async function selfSignedCert(): Promise<TestCert> {
  const pems = await selfsigned.generate([{ name: 'commonName', value: 'localhost' }], {
    keyType: 'ec',
    curve: 'P-256',
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
  return { cert: pems.cert, key: pems.private };
}

export interface MutualTlsCerts {
  /** The CA that signs the server's and the trusted client's certificates. */
  ca: string;
  server: TestCert;
  /** Signed by `ca`. */
  client: TestCert;
  /** Signed by another CA the listener does not trust. */
  strangerClient: TestCert;
}

async function certificateAuthority(name: string): Promise<TestCert> {
  const pems = await selfsigned.generate([{ name: 'commonName', value: name }], {
    keyType: 'ec',
    curve: 'P-256',
    algorithm: 'sha256',
    extensions: [
      { name: 'basicConstraints', cA: true, critical: true },
      { name: 'keyUsage', keyCertSign: true, cRLSign: true, digitalSignature: true, critical: true },
    ],
  });
  return { cert: pems.cert, key: pems.private };
}

async function signedBy(ca: TestCert, name: string, usage: 'serverAuth' | 'clientAuth'): Promise<TestCert> {
  const pems = await selfsigned.generate([{ name: 'commonName', value: name }], {
    keyType: 'ec',
    curve: 'P-256',
    algorithm: 'sha256',
    ca: { key: ca.key, cert: ca.cert },
    extensions: [
      { name: 'basicConstraints', cA: false },
      { name: 'keyUsage', digitalSignature: true, keyEncipherment: true },
      { name: 'extKeyUsage', [usage]: true },
      ...(usage === 'serverAuth'
        ? [
            {
              name: 'subjectAltName' as const,
              altNames: [
                { type: 2 as const, value: 'localhost' },
                { type: 7 as const, ip: '127.0.0.1' },
              ],
            },
          ]
        : []),
    ],
  });
  return { cert: pems.cert, key: pems.private };
}

/** A CA, a server certificate and a client certificate it signed, and a client certificate from another CA. */
export async function mutualTlsCerts(): Promise<MutualTlsCerts> {
  const ca = await certificateAuthority('spear-comm test CA');
  const stranger = await certificateAuthority('some other CA');
  return {
    ca: ca.cert,
    server: await signedBy(ca, 'localhost', 'serverAuth'),
    client: await signedBy(ca, 'instance-1', 'clientAuth'),
    strangerClient: await signedBy(stranger, 'intruder', 'clientAuth'),
  };
}
