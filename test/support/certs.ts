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
