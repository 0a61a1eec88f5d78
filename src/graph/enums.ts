/** Enumerations of the service communications API (graph-api-reference §2.8), in the camelCase Graph serialises. */
export const SERVICE_HEALTH_STATUSES = [
  'serviceOperational', 'investigating', 'restoringService', 'verifyingService', 'serviceRestored',
  'postIncidentReviewPublished', 'serviceDegradation', 'serviceInterruption', 'extendedRecovery', 'falsePositive',
  'investigationSuspended', 'resolved', 'mitigatedExternal', 'mitigated', 'resolvedExternal', 'confirmed', 'reported',
  'unknownFutureValue',
] as const;
export const CLASSIFICATIONS = ['advisory', 'incident', 'unknownFutureValue'] as const;
export const ORIGINS = ['microsoft', 'thirdParty', 'customer', 'unknownFutureValue'] as const;
export const MESSAGE_CATEGORIES = ['preventOrFixIssue', 'planForChange', 'stayInformed', 'unknownFutureValue'] as const;
export const MESSAGE_SEVERITIES = ['normal', 'high', 'critical', 'unknownFutureValue'] as const;

/**
 * Canonical spelling of an enum value. Graph documents camelCase but its samples show PascalCase, so values
 * are matched case-insensitively. A value we do not know (Graph adds members over time) is kept, only its first
 * letter lowered so PascalCase input still exports camelCase; it is never dropped.
 */
export function canonicalEnum(value: string | null | undefined, known: readonly string[]): string {
  if (value === null || value === undefined || value === '') return 'unknown';
  const match = known.find((member) => member.toLowerCase() === value.toLowerCase());
  return match ?? value.charAt(0).toLowerCase() + value.slice(1);
}

/**
 * Whether users can work with a service in this status. Statuses that say the service works again
 * (restored, PIR published, false positive, and the reserved resolved/mitigated members) count as operational;
 * everything else, including any status Graph adds in the future, does not, so an unknown value can only
 * cause a false alarm, never hide an outage.
 */
const OPERATIONAL_STATUSES: ReadonlySet<string> = new Set([
  'serviceOperational', 'serviceRestored', 'postIncidentReviewPublished', 'falsePositive',
  'resolved', 'resolvedExternal', 'mitigated', 'mitigatedExternal',
]);

export function isOperational(status: string): boolean {
  return OPERATIONAL_STATUSES.has(status);
}

/** Worst first: used to pick the status a feature group shows when several issues are open in it. */
const STATUS_SEVERITY_ORDER = [
  'serviceInterruption', 'serviceDegradation', 'restoringService', 'extendedRecovery', 'investigating',
  'verifyingService', 'investigationSuspended', 'confirmed', 'reported',
] as const;

export function statusSeverity(status: string): number {
  const rank = (STATUS_SEVERITY_ORDER as readonly string[]).indexOf(status);
  if (rank >= 0) return STATUS_SEVERITY_ORDER.length - rank + 1;
  return isOperational(status) ? 0 : 1; // unknown non-operational values rank just above operational ones
}
