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

/**
 * Further services a tenant with more licences lists (the `realistic` profile: 40 in all). Ids follow Graph's style;
 * which ids a tenant sees depends on its licences.
 */
const MORE_SERVICES: CatalogueService[] = [
  { id: 'M365Copilot', service: 'Microsoft Copilot (Microsoft 365)', issuePrefix: 'CP' },
  { id: 'MicrosoftViva', service: 'Microsoft Viva', issuePrefix: 'VV' },
  { id: 'PowerPlatform', service: 'Power Platform', issuePrefix: 'PP' },
  { id: 'Dynamics365BusinessCentral', service: 'Dynamics 365 Business Central', issuePrefix: 'BC' },
  { id: 'Dynamics365CustomerInsights', service: 'Dynamics 365 Customer Insights', issuePrefix: 'CI' },
  { id: 'MicrosoftDefenderforOffice365', service: 'Microsoft Defender for Office 365', issuePrefix: 'DO' },
  { id: 'MicrosoftDefenderforIdentity', service: 'Microsoft Defender for Identity', issuePrefix: 'DI' },
  { id: 'MicrosoftPurview', service: 'Microsoft Purview', issuePrefix: 'PV' },
  { id: 'UniversalPrint', service: 'Universal Print', issuePrefix: 'UP' },
  { id: 'WindowsAutopatch', service: 'Windows Autopatch', issuePrefix: 'WA' },
  { id: 'MicrosoftLoop', service: 'Microsoft Loop', issuePrefix: 'LP' },
  { id: 'Whiteboard', service: 'Microsoft Whiteboard', issuePrefix: 'WB' },
  { id: 'Clipchamp', service: 'Microsoft Clipchamp', issuePrefix: 'CC' },
  { id: 'ToDo', service: 'Microsoft To Do', issuePrefix: 'TD' },
];

/** `'default'`: the usual 26 services; `'realistic'`: those and 14 more; a number N: N synthetic services. */
export function serviceCatalogue(spec: 'default' | 'realistic' | number): CatalogueService[] {
  if (spec === 'default') return DEFAULT_SERVICES.map((s) => ({ ...s }));
  if (spec === 'realistic') return [...DEFAULT_SERVICES, ...MORE_SERVICES].map((s) => ({ ...s }));
  return Array.from({ length: spec }, (_, i) => {
    const n = String(i + 1).padStart(3, '0');
    return { id: `Svc${n}`, service: `Synthetic Service ${n}`, issuePrefix: 'SV' };
  });
}
