import { describe, expect, it } from 'vitest';
import { SERVICE_HEALTH_STATUSES, canonicalEnum, isOperational, statusSeverity } from '../../src/graph/enums.js';

describe('canonicalEnum', () => {
  it('matches case-insensitively and exports camelCase', () => {
    expect(canonicalEnum('ServiceDegradation', SERVICE_HEALTH_STATUSES)).toBe('serviceDegradation');
    expect(canonicalEnum('SERVICEOPERATIONAL', SERVICE_HEALTH_STATUSES)).toBe('serviceOperational');
    expect(canonicalEnum('unknownFutureValue', SERVICE_HEALTH_STATUSES)).toBe('unknownFutureValue');
  });

  it('keeps values it does not know instead of dropping them', () => {
    expect(canonicalEnum('PartialOutage', SERVICE_HEALTH_STATUSES)).toBe('partialOutage');
    expect(canonicalEnum('someNewStatus', SERVICE_HEALTH_STATUSES)).toBe('someNewStatus');
    expect(canonicalEnum(null, SERVICE_HEALTH_STATUSES)).toBe('unknown');
  });
});

describe('status mapping', () => {
  it('maps every documented status, and unknown ones to not operational', () => {
    const operational = SERVICE_HEALTH_STATUSES.filter(isOperational);
    expect(operational).toEqual(['serviceOperational', 'serviceRestored', 'postIncidentReviewPublished', 'falsePositive', 'resolved', 'mitigatedExternal', 'mitigated', 'resolvedExternal']);
    expect(isOperational('investigating')).toBe(false);
    expect(isOperational('someNewStatus')).toBe(false);
    expect(isOperational('unknownFutureValue')).toBe(false);
  });

  it('ranks interruption worst, then degradation, unknown above operational', () => {
    const ranked = ['serviceOperational', 'someNewStatus', 'investigating', 'serviceDegradation', 'serviceInterruption'].map(statusSeverity);
    expect([...ranked].sort((a, b) => a - b)).toEqual(ranked);
    expect(new Set(ranked).size).toBe(ranked.length);
  });
});
