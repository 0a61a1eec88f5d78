import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { pino } from 'pino';
import { afterEach, beforeEach } from 'vitest';
import type { IssueObservation } from '../../src/history/store.js';

export const DAY = 86_400_000;
export const T0 = Date.parse('2025-06-01T00:00:00Z');
export const silentLogger = pino({ level: 'silent' });

/** A directory of its own for each test of the file, removed after it: the returned function names the current one. */
export function tempDirPerTest(prefix: string): () => string {
  let dir = '';
  beforeEach(() => {
    dir = mkdtempSync(join(tmpdir(), prefix));
  });
  afterEach(() => rmSync(dir, { recursive: true, force: true }));
  return () => dir;
}

/** An open Exchange incident as the issues collector observes it. */
export function observedIssue(id: string, over: Partial<IssueObservation> = {}): IssueObservation {
  return {
    id, serviceId: 'Exchange', serviceName: 'Exchange Online', classification: 'incident', status: 'investigating', origin: 'microsoft',
    featureGroup: 'E-Mail and calendar access', feature: 'E-Mail timely delivery', title: `Users can't send mail (${id})`, isResolved: false,
    start: T0, end: null, lastModified: T0, ...over,
  };
}
