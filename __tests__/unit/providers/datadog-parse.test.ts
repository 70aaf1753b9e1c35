import { describe, expect, it } from 'vitest';
import {
  alertingMonitors,
  newestPoint,
  secondsWindow,
  valueOfQueryResponse,
} from '../../../src/providers/datadog-parse.ts';

describe('reading a v1 query answer', () => {
  it('takes the newest non-null point of a series', () => {
    expect(
      newestPoint([
        [1000, 0.1],
        [2000, 0.2],
        [3000, null],
      ]),
    ).toEqual({ at: 2000, value: 0.2 });
    expect(newestPoint([[1000, null]])).toBeUndefined();
    expect(newestPoint('nope')).toBeUndefined();
  });

  it('takes the worst series of a grouped query', () => {
    const body = {
      status: 'ok',
      series: [
        {
          pointlist: [
            [1000, 0.01],
            [2000, 0.002],
          ],
        },
        {
          pointlist: [
            [1000, 0.5],
            [2000, 0.04],
          ],
        },
      ],
    };
    expect(valueOfQueryResponse(body)).toEqual({ kind: 'value', value: 0.04, pointAt: 2000 });
  });

  it('empty series or null points are no data', () => {
    expect(valueOfQueryResponse({ status: 'ok', series: [] })).toEqual({ kind: 'no-data' });
    expect(valueOfQueryResponse({ status: 'ok', series: [{ pointlist: [[1, null]] }] })).toEqual({ kind: 'no-data' });
  });

  it('a query Datadog could not run is an error, as is a malformed answer', () => {
    expect(valueOfQueryResponse({ status: 'error', error: 'Rule parsing error' })).toEqual({
      kind: 'error',
      error: 'Datadog could not run the query: Rule parsing error',
    });
    expect(valueOfQueryResponse('x').kind).toBe('error');
    expect(valueOfQueryResponse({ status: 'ok', series: 'x' }).kind).toBe('error');
  });
});

describe('Datadog request and monitor shapes', () => {
  it('asks for the last interval in whole, finished seconds, at least one wide', () => {
    expect(secondsWindow(10_500, 11_000)).toEqual({ from: 10, to: 11 });
    expect(secondsWindow(10_600, 11_100)).toEqual({ from: 10, to: 11 });
    expect(secondsWindow(10_000, 10_000)).toEqual({ from: 9, to: 10 });
    expect(secondsWindow(10_000, 40_000)).toEqual({ from: 10, to: 40 });
  });
  it('only monitors in Alert that carry every tag count', () => {
    const list = [
      { id: 1, name: 'web 5xx', overall_state: 'Alert', tags: ['service:web', 'env:prod'] },
      { id: 2, name: 'web p95', overall_state: 'Warn', tags: ['service:web'] },
      { id: 3, name: 'api', overall_state: 'Alert', tags: ['service:api'] },
      { id: 4, name: 'line\n::error::x', overall_state: 'Alert', tags: ['service:web'] },
    ];
    expect(alertingMonitors(list, ['service:web'])).toEqual([
      { id: 1, name: 'web 5xx', state: 'Alert' },
      { id: 4, name: 'line ::error::x', state: 'Alert' },
    ]);
    expect(() => alertingMonitors({}, [])).toThrow(/not a list/);
  });
});
