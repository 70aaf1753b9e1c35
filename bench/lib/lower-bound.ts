/**
 * The lower bound of a blue-green deploy: the critical path of waits no implementation can avoid.
 * Steps run in the order the interface fixes; inside a step, only calls whose answer the next call
 * needs are counted, one round trip each, and a call that can overlap a longer wait of the same step
 * (a record written while green builds) costs nothing. Reports and notifications that could be sent
 * in the background are not on the path. Each term says why it is there: the doc prints them.
 */

export interface BoundInputs {
  /** One API round trip with the injected latency (measured). */
  rttMs: number;
  /** One request to a deployment through the data plane (edge or load balancer; measured). */
  edgeMs: number;
  /** Node 24 from spawn to the first line of an empty script (measured). */
  nodeStartMs: number;
  buildMs: number;
  windowMs: number;
  /** `evaluation-delay`: each sample asks about a window that ended this long ago (absent: 0). */
  evaluationDelayMs?: number;
  smokeSamples: number;
  /**
   * How often the load balancer's monitor probes an origin (the sandbox's Cloudflare: its
   * `healthIntervalMs`); absent or 0: the health wait is left out of the bound.
   */
  healthProbeMs?: number;
}

export interface BoundTerm {
  step: string;
  ms: number;
  /** e.g. `3 round trips + build 3 s + 1 request`. */
  formula: string;
  why: string;
}

/** The terms, one or more per step (`startup` is the spawn up to the first step). */
export function lowerBound(i: BoundInputs): { totalMs: number; roundTrips: number; terms: BoundTerm[] } {
  const rt = (n: number) => n * i.rttMs;
  const terms: BoundTerm[] = [
    {
      step: 'startup',
      ms: i.nodeStartMs,
      formula: 'Node start',
      why: 'an empty script on Node 24 printing one line; loading the bundle is not counted',
    },
    {
      step: 'preflight',
      ms: rt(2),
      formula: '2 round trips',
      why:
        'every independent look-up at once (one GitHub GraphQL query for the branch’s protection, the ' +
        'environment, the commit’s PRs with their reviews and its checks; the alerts over REST; the load ' +
        'balancer, its pools and the Vercel project), then what needs their answers (the pools’ monitors, ' +
        'whose interval sets the health wait); the go/no-go PR comment can be posted in the background',
    },
    {
      step: 'prepare',
      ms: rt(3),
      formula: '3 round trips',
      why:
        'the backup of one part: PUT, then the self-copy that records its SHA-256 (known only at the end of ' +
        'the stream), then the HEAD that verifies it; env, dependency and monitor checks run alongside',
    },
    {
      step: 'deploy',
      ms: rt(3) + i.buildMs + i.edgeMs,
      formula: '3 round trips + build + 1 request',
      why:
        'upload the files (at once), create the deployment, the build, one read that sees READY, one health ' +
        'request to green; the lock check, reading blue and writing the GitHub record fit inside the build',
    },
    {
      step: 'smoke',
      ms: i.smokeSamples * i.edgeMs,
      formula: `${i.smokeSamples} requests`,
      why: 'smoke-samples requests of each check, one after another (checks side by side)',
    },
    {
      step: 'traffic',
      ms: rt(3) + i.edgeMs + 2 * (i.healthProbeMs ?? 0),
      formula: `3 round trips + 1 request${i.healthProbeMs ? ' + 2 monitor probes' : ''}`,
      why:
        'alias the idle slot to green, read the pool’s health, set the weights, then one request through ' +
        'production that green answers' +
        (i.healthProbeMs
          ? '; between the alias and the weights, a health result newer than the change: a data center’s ' +
            'result counts as new once it has changed twice (the first change may come from a probe sent ' +
            'before the alias moved), two monitor probes at the least'
          : ''),
    },
    {
      step: 'validate',
      ms: i.windowMs + (i.evaluationDelayMs ?? 0) + rt(1),
      formula: i.evaluationDelayMs
        ? 'validation window + evaluation-delay + 1 round trip'
        : 'validation window + 1 round trip',
      why:
        'the window is watched whole; the last sample is answered one round trip after it ends' +
        (i.evaluationDelayMs
          ? '; each sample asks about a window that ended `evaluation-delay` ago (Datadog’s data arrives late), ' +
            'so the last one cannot be asked before the window’s end plus the delay — the wait the decisions ' +
            'need to see complete data, stated here because no implementation can judge data not yet there'
          : ''),
    },
    {
      step: 'cleanup',
      ms: rt(1),
      formula: '1 round trip',
      why: 'the final records (GitHub status, Datadog event, Slack, retiring old deployments) are independent',
    },
  ];
  return {
    totalMs: terms.reduce((a, t) => a + t.ms, 0),
    roundTrips: 2 + 3 + 3 + 3 + 1 + 1,
    terms,
  };
}
