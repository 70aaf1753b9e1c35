/**
 * The release in Datadog: the event and the DORA record are sent together, and a failure of either
 * is named (the other is still sent), so cleanup's warning says exactly what Datadog lacks.
 */
import { describe, expect, it } from 'vitest';
import { recordInDatadog } from '../../../../src/steps/cleanup/tasks.ts';
import { SHA, testConfig } from '../../pipeline/fixtures.ts';

const state = { sha: SHA, green: { id: 'dpl_green', url: 'https://green.example', sha: SHA } } as never;

function fakeDatadog(fail: { event?: boolean; dora?: boolean }) {
  const sent: string[] = [];
  return {
    sent,
    createEvent: async () => {
      sent.push('event');
      if (fail.event) throw new Error('HTTP 503 from events');
      return { id: 7 };
    },
    createDoraDeployment: async () => {
      sent.push('dora');
      if (fail.dora) throw new Error('HTTP 403 from dora');
      return { id: 'd1' };
    },
  };
}

describe('recordInDatadog', () => {
  it('sends both and says so', async () => {
    const dd = fakeDatadog({});
    const check = await recordInDatadog(dd as never, testConfig(), state, Date.now(), undefined);
    expect(check.status).toBe('pass');
    expect(check.reason).toMatch(/event 7 and DORA deployment d1/);
    expect(dd.sent.sort()).toEqual(['dora', 'event']);
  });

  it('a failed event still records the DORA deployment, and the error names which one failed', async () => {
    const dd = fakeDatadog({ event: true });
    await expect(recordInDatadog(dd as never, testConfig(), state, Date.now(), undefined)).rejects.toThrow(
      /the event could not be sent: .*HTTP 503.*; the DORA deployment was recorded/,
    );
    expect(dd.sent.sort()).toEqual(['dora', 'event']);
  });

  it('a failed DORA record is named too', async () => {
    const dd = fakeDatadog({ dora: true });
    await expect(recordInDatadog(dd as never, testConfig(), state, Date.now(), undefined)).rejects.toThrow(
      /the event was sent; the DORA deployment could not be recorded: .*HTTP 403/,
    );
  });
});
