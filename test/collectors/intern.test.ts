import { describe, expect, it } from 'vitest';
import { SharedItems } from '../../src/collectors/intern.js';

const post = (overrides: Record<string, unknown> = {}) => ({ id: 'MC1', title: 'A change', tags: ['Admin impact'], lastModified: 1, ...overrides });

describe('SharedItems', () => {
  it('gives tenants that parsed equal items one frozen copy', () => {
    const items = new SharedItems<ReturnType<typeof post>>(10);
    const first = items.share(post());
    const second = items.share(post());
    expect(second).toBe(first);
    expect(Object.isFrozen(first)).toBe(true);
    expect(Object.isFrozen(first.tags)).toBe(true);
  });

  it('never shares items that differ under the same id, and keeps the latest version', () => {
    const items = new SharedItems<ReturnType<typeof post>>(10);
    const old = items.share(post());
    const changed = items.share(post({ lastModified: 2, tags: ['Admin impact', 'Updated message'] }));
    expect(changed).not.toBe(old);
    expect(changed.tags).toEqual(['Admin impact', 'Updated message']);
    expect(items.share(post({ lastModified: 2, tags: ['Admin impact', 'Updated message'] }))).toBe(changed);
    expect(items.share(post())).not.toBe(old);
  });

  it("keeps a tenant's own equal copy from its previous refresh when the kept copy is another tenant's version", () => {
    const items = new SharedItems<ReturnType<typeof post>>(10);
    const mine = items.share(post({ title: 'Mine' }));
    items.share(post({ title: 'Theirs' }));
    expect(items.share(post({ title: 'Mine' }), mine)).toBe(mine);
    expect(items.share(post({ title: 'Changed' }), mine)).not.toBe(mine);
  });

  it('forgets the ids seen least recently past its bound', () => {
    const items = new SharedItems<ReturnType<typeof post>>(2);
    const a = items.share(post({ id: 'A' }));
    const b = items.share(post({ id: 'B' }));
    expect(items.share(post({ id: 'A' }))).toBe(a);
    items.share(post({ id: 'C' }));
    expect(items.share(post({ id: 'A' }))).toBe(a);
    expect(items.share(post({ id: 'B' }))).not.toBe(b);
  });
});
