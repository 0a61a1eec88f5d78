import { describe, expect, it } from 'vitest';
import { RequestBudget } from '../../src/graph/budget.js';

describe('RequestBudget', () => {
  it('enforces every window and frees slots as they slide out', () => {
    let now = 0;
    const budget = new RequestBudget([
      { name: '1m', limit: 3, windowMs: 60_000 },
      { name: '1h', limit: 5, windowMs: 3_600_000 },
    ], () => now);
    for (let i = 0; i < 3; i++) budget.take('req');
    expect(() => budget.take('GET issues')).toThrow('request budget exhausted: 3 requests per 1m already sent; not sending GET issues');
    now = 60_001;
    budget.take('req');
    budget.take('req');
    expect(budget.remaining()).toEqual([{ window: '1m', remaining: 1 }, { window: '1h', remaining: 0 }]);
    expect(() => budget.take('req')).toThrow(/5 requests per 1h/);
    now = 3_600_001;
    expect(budget.remaining()).toEqual([{ window: '1m', remaining: 3 }, { window: '1h', remaining: 3 }]);
  });
});
