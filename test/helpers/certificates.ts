/**
 * Real X.509 certificates for TLS tests, made with `selfsigned` (EC P-256 keys: fast to generate): a CA, and server
 * or client certificates it signs.
 */
import { generate } from 'selfsigned';

export interface Pem {
  cert: string;
  key: string;
}

const DAY = 86_400_000;

export async function certificateAuthority(name: string): Promise<Pem> {
  const pems = await generate([{ name: 'commonName', value: name }], {
    keyType: 'ec', algorithm: 'sha256', notBeforeDate: new Date(Date.now() - DAY), notAfterDate: new Date(Date.now() + 30 * DAY),
    extensions: [{ name: 'basicConstraints', cA: true, critical: true }, { name: 'keyUsage', keyCertSign: true, cRLSign: true, digitalSignature: true, critical: true }],
  });
  return { cert: pems.cert, key: pems.private };
}

/** A certificate signed by `ca`: for a server on 127.0.0.1/localhost, or for a client. */
export async function issue(ca: Pem, name: string, usage: 'server' | 'client'): Promise<Pem> {
  const pems = await generate([{ name: 'commonName', value: name }], {
    keyType: 'ec', algorithm: 'sha256', notBeforeDate: new Date(Date.now() - DAY), notAfterDate: new Date(Date.now() + 30 * DAY),
    ca: { key: ca.key, cert: ca.cert },
    extensions: [
      { name: 'basicConstraints', cA: false },
      { name: 'keyUsage', digitalSignature: true, keyEncipherment: true },
      { name: 'extKeyUsage', serverAuth: usage === 'server', clientAuth: usage === 'client' },
      ...(usage === 'server' ? [{ name: 'subjectAltName' as const, altNames: [{ type: 7 as const, ip: '127.0.0.1' }, { type: 2 as const, value: 'localhost' }] }] : []),
    ],
  });
  return { cert: pems.cert, key: pems.private };
}
