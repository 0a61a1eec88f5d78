/**
 * Microsoft Graph national clouds (https://learn.microsoft.com/en-us/graph/deployments): where to sign in, which
 * Graph root to call, and which Microsoft 365 offering runs there (the name an admin knows).
 */
export const CLOUDS = {
  global: { authorityHost: 'https://login.microsoftonline.com', graphEndpoint: 'https://graph.microsoft.com', offering: 'worldwide, also GCC' },
  usgov: { authorityHost: 'https://login.microsoftonline.us', graphEndpoint: 'https://graph.microsoft.us', offering: 'GCC High' },
  usgovdod: { authorityHost: 'https://login.microsoftonline.us', graphEndpoint: 'https://dod-graph.microsoft.us', offering: 'DoD' },
  china: { authorityHost: 'https://login.chinacloudapi.cn', graphEndpoint: 'https://microsoftgraph.chinacloudapi.cn', offering: '21Vianet' },
} as const;

export type CloudName = keyof typeof CLOUDS;
export const CLOUD_NAMES = Object.keys(CLOUDS) as [CloudName, ...CloudName[]];
