/**
 * A token issuer the test controls, standing in for a Kubernetes cluster's OIDC issuer (AKS workload identity): an
 * RSA key, and JWTs signed with it as the kubelet projects them into a pod
 * (https://kubernetes.io/docs/tasks/configure-pod-container/configure-service-account/#serviceaccount-token-volume-projection).
 * The simulator trusts it through a federated credential (`federatedCredential()`), as Entra ID trusts a cluster
 * whose issuer and service account are registered on the app.
 */
import { generateKeyPairSync, randomUUID, sign, type KeyObject } from 'node:crypto';
import type { SimFederatedCredential } from '../../simulator/index.js';

export const TOKEN_EXCHANGE_AUDIENCE = 'api://AzureADTokenExchange';

export interface TestIssuer {
  url: string;
  /** The subject of the service account the exporter runs as. */
  subject: string;
  /** A service account token: iss, sub, aud api://AzureADTokenExchange, valid for an hour unless told otherwise. */
  token(claims?: Record<string, unknown>): string;
  /** What to register on the simulated app registration. */
  federatedCredential(): SimFederatedCredential;
}

export function testIssuer(url = 'https://oidc.cluster.example/11111111-2222-3333-4444-555555555555/', subject = 'system:serviceaccount:monitoring:m365-exporter'): TestIssuer {
  const { publicKey, privateKey } = generateKeyPairSync('rsa', { modulusLength: 2048 });
  return {
    url,
    subject,
    token: (claims = {}) => signRs256(privateKey, {
      iss: url, sub: subject, aud: [TOKEN_EXCHANGE_AUDIENCE], iat: now(), nbf: now(), exp: now() + 3_600, jti: randomUUID(), ...claims,
    }),
    federatedCredential: () => ({ issuer: url, subject, publicKeyPem: publicKey.export({ type: 'spki', format: 'pem' }).toString() }),
  };
}

/** Signs with any RSA key: an intruder's, for the negative cases. */
export function signRs256(key: KeyObject, claims: Record<string, unknown>): string {
  const b64 = (value: unknown) => Buffer.from(JSON.stringify(value)).toString('base64url');
  const input = `${b64({ alg: 'RS256', typ: 'JWT', kid: 'test-key' })}.${b64(claims)}`;
  return `${input}.${sign('sha256', Buffer.from(input), key).toString('base64url')}`;
}

const now = () => Math.floor(Date.now() / 1_000);
