/** A throw-away TLS identity made at start: self-signed, so the certificate is its own CA for clients to trust. */
import { generate } from 'selfsigned';

export interface TlsIdentity {
  certPem: string;
  keyPem: string;
}

export async function createTlsIdentity(extraDnsNames: string[] = []): Promise<TlsIdentity> {
  const now = new Date();
  const pems = await generate([{ name: 'commonName', value: 'M365 Graph simulator' }], {
    keySize: 2048,
    algorithm: 'sha256',
    notBeforeDate: new Date(now.getTime() - 60_000),
    notAfterDate: new Date(now.getTime() + 30 * 24 * 3_600_000),
    extensions: [
      { name: 'basicConstraints', cA: true },
      { name: 'keyUsage', digitalSignature: true, keyEncipherment: true, keyCertSign: true },
      { name: 'extKeyUsage', serverAuth: true },
      {
        name: 'subjectAltName',
        altNames: [{ type: 7, ip: '127.0.0.1' }, { type: 2, value: 'localhost' }, ...extraDnsNames.map((value) => ({ type: 2 as const, value }))],
      },
    ],
  });
  return { certPem: pems.cert, keyPem: pems.private };
}
