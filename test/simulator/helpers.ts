/** Test helpers: HTTPS calls that trust the simulator's CA (NODE_EXTRA_CA_CERTS is read only at process start). */
import { request } from 'node:https';
import type { INetworkModule, NetworkRequestOptions, NetworkResponse } from '@azure/msal-node';
import type { SimTenantSpec, Simulator } from '../../simulator/index.js';

export const TENANT: SimTenantSpec = {
  tenantId: '11111111-2222-4333-8444-555555555555',
  clientId: 'aaaaaaaa-bbbb-4ccc-8ddd-eeeeeeeeeeee',
  clientSecret: 'test-secret',
};

export interface HttpResponse {
  status: number;
  headers: Record<string, string | string[] | undefined>;
  text: string;
  json<T = any>(): T;
}

export function call(
  sim: Simulator,
  method: string,
  pathOrUrl: string,
  options: { headers?: Record<string, string>; body?: string } = {},
): Promise<HttpResponse> {
  const url = new URL(pathOrUrl, sim.url);
  return new Promise((resolve, reject) => {
    const req = request(url, { method, headers: options.headers, ca: sim.caCertPem }, (res) => {
      const chunks: Buffer[] = [];
      res.on('data', (c: Buffer) => chunks.push(c));
      res.on('end', () => {
        const text = Buffer.concat(chunks).toString('utf8');
        resolve({ status: res.statusCode ?? 0, headers: res.headers, text, json: () => JSON.parse(text) });
      });
    });
    req.on('error', reject);
    req.end(options.body);
  });
}

export function requestToken(sim: Simulator, form: Record<string, string>, tenantId = TENANT.tenantId): Promise<HttpResponse> {
  return call(sim, 'POST', `/${tenantId}/oauth2/v2.0/token`, {
    headers: { 'Content-Type': 'application/x-www-form-urlencoded' },
    body: new URLSearchParams(form).toString(),
  });
}

export async function token(sim: Simulator, spec: SimTenantSpec = TENANT): Promise<string> {
  const res = await requestToken(
    sim,
    { grant_type: 'client_credentials', client_id: spec.clientId, client_secret: spec.clientSecret!, scope: `${sim.url}/.default` },
    spec.tenantId,
  );
  if (res.status !== 200) throw new Error(`token request failed: ${res.text}`);
  return res.json<{ access_token: string }>().access_token;
}

export function graph(sim: Simulator, accessToken: string, path: string, headers: Record<string, string> = {}): Promise<HttpResponse> {
  return call(sim, 'GET', path.startsWith('https://') ? path : `/v1.0/admin/serviceAnnouncement/${path}`, {
    headers: { Authorization: `Bearer ${accessToken}`, ...headers },
  });
}

/** msal network client with the simulator CA trusted, for in-process msal tests. */
export function trustingNetworkClient(sim: Simulator): INetworkModule {
  const exchange = async <T>(method: string, url: string, options?: NetworkRequestOptions): Promise<NetworkResponse<T>> => {
    const res = await call(sim, method, url, { headers: options?.headers ?? {}, ...(options?.body !== undefined && { body: options.body }) });
    const headers = Object.fromEntries(Object.entries(res.headers).map(([k, v]) => [k, String(v)]));
    return { status: res.status, headers, body: res.json<T>() };
  };
  return {
    sendGetRequestAsync: (url, options) => exchange('GET', url, options),
    sendPostRequestAsync: (url, options) => exchange('POST', url, options),
  };
}
