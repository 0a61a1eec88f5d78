/** Minimal JWT handling: HS256 access tokens we issue, RS256/PS256 client assertions we verify. */
import { constants, createHash, createHmac, timingSafeEqual, verify, X509Certificate, type KeyObject } from 'node:crypto';

export type JwtClaims = Record<string, unknown>;

export interface DecodedJwt {
  header: Record<string, unknown>;
  claims: JwtClaims;
  signingInput: string;
  signature: Buffer;
}

const b64url = (data: Buffer | string): string => Buffer.from(data).toString('base64url');

export function decodeJwt(token: string): DecodedJwt | undefined {
  const parts = token.split('.');
  if (parts.length !== 3) return undefined;
  try {
    const [h, c, s] = parts as [string, string, string];
    const header = JSON.parse(Buffer.from(h, 'base64url').toString('utf8')) as unknown;
    const claims = JSON.parse(Buffer.from(c, 'base64url').toString('utf8')) as unknown;
    if (!isObject(header) || !isObject(claims)) return undefined;
    return { header, claims, signingInput: `${h}.${c}`, signature: Buffer.from(s, 'base64url') };
  } catch {
    return undefined;
  }
}

export function signHs256(claims: JwtClaims, key: Buffer): string {
  const input = `${b64url(JSON.stringify({ typ: 'JWT', alg: 'HS256' }))}.${b64url(JSON.stringify(claims))}`;
  return `${input}.${b64url(createHmac('sha256', key).update(input).digest())}`;
}

/** Returns the claims when the signature is ours, else undefined (expiry is the caller's business). */
export function verifyHs256(token: string, key: Buffer): JwtClaims | undefined {
  const jwt = decodeJwt(token);
  if (!jwt || jwt.header.alg !== 'HS256') return undefined;
  const expected = createHmac('sha256', key).update(jwt.signingInput).digest();
  return expected.length === jwt.signature.length && timingSafeEqual(expected, jwt.signature) ? jwt.claims : undefined;
}

/** Thumbprints as msal puts them in the assertion header: base64url of the DER digest. */
export function certificateThumbprints(certPem: string): { x5t: string; x5tS256: string } {
  const der = new X509Certificate(certPem).raw;
  return { x5t: b64url(createHash('sha1').update(der).digest()), x5tS256: b64url(createHash('sha256').update(der).digest()) };
}

/** Verifies an RS256/PS256 signature with a public key (a certificate's, or a federated issuer's). */
export function verifyRsaSignature(jwt: DecodedJwt, key: KeyObject): boolean {
  const data = Buffer.from(jwt.signingInput);
  if (jwt.header.alg === 'RS256') return verify('sha256', data, key, jwt.signature);
  if (jwt.header.alg === 'PS256') {
    return verify('sha256', data, { key, padding: constants.RSA_PKCS1_PSS_PADDING, saltLength: constants.RSA_PSS_SALTLEN_DIGEST }, jwt.signature);
  }
  return false;
}

function isObject(v: unknown): v is Record<string, unknown> {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}
