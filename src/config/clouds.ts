/** Microsoft Graph national clouds (graph-api-reference §8): where to sign in and which Graph root to call. */
export const CLOUDS = {
  global: { authorityHost: 'https://login.microsoftonline.com', graphEndpoint: 'https://graph.microsoft.com' },
  usgov: { authorityHost: 'https://login.microsoftonline.us', graphEndpoint: 'https://graph.microsoft.us' },
  usgovdod: { authorityHost: 'https://login.microsoftonline.us', graphEndpoint: 'https://dod-graph.microsoft.us' },
  china: { authorityHost: 'https://login.chinacloudapi.cn', graphEndpoint: 'https://microsoftgraph.chinacloudapi.cn' },
} as const;

export type CloudName = keyof typeof CLOUDS;
export const CLOUD_NAMES = Object.keys(CLOUDS) as CloudName[];
