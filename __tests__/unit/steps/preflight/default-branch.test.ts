/** Pre-flight takes the default branch from the run's event when the event is about this repository. */
import { describe, expect, it } from 'vitest';
import { defaultBranchOf } from '../../../../src/steps/preflight/fetch.ts';

describe('defaultBranchOf', () => {
  it('reads repository.default_branch of an event about this repository (any case)', () => {
    expect(defaultBranchOf({ repository: { full_name: 'Acme/Shop', default_branch: 'trunk' } }, 'acme/shop')).toBe(
      'trunk',
    );
  });

  it('is undefined (so the API is asked) for another repository, no repository, or no usable branch', () => {
    expect(defaultBranchOf({ repository: { full_name: 'acme/lib', default_branch: 'main' } }, 'acme/shop')).toBe(
      undefined,
    );
    expect(defaultBranchOf({}, 'acme/shop')).toBe(undefined);
    expect(defaultBranchOf({ repository: { full_name: 'acme/shop', default_branch: '' } }, 'acme/shop')).toBe(
      undefined,
    );
    expect(defaultBranchOf({ repository: { full_name: 'acme/shop', default_branch: 7 } }, 'acme/shop')).toBe(undefined);
    expect(defaultBranchOf({ repository: 'acme/shop' }, 'acme/shop')).toBe(undefined);
  });
});
