/** Service catalogues: real Graph service ids and display names, or synthetic ones for paging tests. */

export interface CatalogueService {
  id: string;
  service: string;
  /** Issue id prefix, as live ids look (EX226792, SP…, TM…). */
  issuePrefix: string;
}

const DEFAULT_SERVICES: CatalogueService[] = [
  { id: 'Exchange', service: 'Exchange Online', issuePrefix: 'EX' },
  { id: 'SharePoint', service: 'SharePoint Online', issuePrefix: 'SP' },
  { id: 'microsoftteams', service: 'Microsoft Teams', issuePrefix: 'TM' },
  { id: 'OneDriveForBusiness', service: 'OneDrive for Business', issuePrefix: 'OD' },
  { id: 'OrgLiveID', service: 'Identity Service', issuePrefix: 'ID' },
  { id: 'OSDPPlatform', service: 'Microsoft 365 suite', issuePrefix: 'MO' },
  { id: 'Intune', service: 'Microsoft Intune', issuePrefix: 'IT' },
  { id: 'Forms', service: 'Microsoft Forms', issuePrefix: 'FM' },
  { id: 'Lync', service: 'Skype for Business', issuePrefix: 'LY' },
  { id: 'Planner', service: 'Planner', issuePrefix: 'PL' },
  { id: 'PowerBIcom', service: 'Power BI', issuePrefix: 'PB' },
  { id: 'DynamicsCRM', service: 'Dynamics 365 Apps', issuePrefix: 'CR' },
  { id: 'MicrosoftDefenderforEndpoint', service: 'Microsoft Defender for Endpoint', issuePrefix: 'DZ' },
  { id: 'Microsoft365Defender', service: 'Microsoft 365 Defender', issuePrefix: 'DF' },
  { id: 'cloudappsecurity', service: 'Microsoft Defender for Cloud Apps', issuePrefix: 'CA' },
  { id: 'RMS', service: 'Azure Information Protection', issuePrefix: 'IP' },
  { id: 'yammer', service: 'Viva Engage', issuePrefix: 'YA' },
  { id: 'officeonline', service: 'Office for the web', issuePrefix: 'OF' },
  { id: 'O365Client', service: 'Microsoft 365 apps', issuePrefix: 'OP' },
  { id: 'Bookings', service: 'Microsoft Bookings', issuePrefix: 'BK' },
  { id: 'Stream', service: 'Microsoft Stream', issuePrefix: 'ST' },
  { id: 'SwayEnterprise', service: 'Sway', issuePrefix: 'SW' },
  { id: 'PowerApps', service: 'Power Apps', issuePrefix: 'PA' },
  { id: 'MicrosoftFlow', service: 'Microsoft Power Automate', issuePrefix: 'MF' },
  { id: 'Windows365', service: 'Windows 365', issuePrefix: 'WS' },
  { id: 'ProjectForTheWeb', service: 'Project for the web', issuePrefix: 'PJ' },
];

export function serviceCatalogue(spec: 'default' | number): CatalogueService[] {
  if (spec === 'default') return DEFAULT_SERVICES.map((s) => ({ ...s }));
  return Array.from({ length: spec }, (_, i) => {
    const n = String(i + 1).padStart(3, '0');
    return { id: `Svc${n}`, service: `Synthetic Service ${n}`, issuePrefix: 'SV' };
  });
}
