/**
 * The validation samples as a markdown section for the job summary: a Mermaid `xychart-beta`
 * per signal (GitHub renders Mermaid in markdown), the threshold as a second line, and the sample
 * table under a `<details>` fold. The watch returns it as the step outcome's `markdown`.
 */
import { formatClock, formatRatio } from '../analysis/format.js';
import type { Sample } from '../analysis/types.js';
import { escapeCell } from './markdown.js';
import { formatMs } from '../text.js';

/** More points than this are bucketed (max per bucket: the chart must not hide a spike). */
export const MAX_POINTS = 60;

interface Point {
  label: string;
  value: number;
}

/** Keep at most `max` points: each bucket shows its worst (largest) value, labelled by its first time. */
export function downsample(points: Point[], max = MAX_POINTS): Point[] {
  if (points.length <= max) return points;
  const size = Math.ceil(points.length / max);
  const out: Point[] = [];
  for (let i = 0; i < points.length; i += size) {
    const bucket = points.slice(i, i + size);
    out.push({ label: bucket[0]!.label, value: Math.max(...bucket.map((p) => p.value)) });
  }
  return out;
}

/** A number as Mermaid reads it: plain decimal, no exponent. */
function num(value: number): string {
  if (Number.isInteger(value)) return String(value);
  const text = String(Number(value.toPrecision(6)));
  return text.includes('e') ? value.toFixed(12).replace(/\.?0+$/, '') : text;
}

/** A nice upper bound for the y axis, leaving room above both the data and the threshold. */
function axisMax(values: number[], threshold: number): number {
  const top = Math.max(threshold, ...values) * 1.2;
  if (top <= 0) return 1;
  const magnitude = 10 ** Math.floor(Math.log10(top));
  return Math.ceil(top / magnitude) * magnitude;
}

/** One Mermaid xychart of `points` with a flat threshold line; undefined when there is nothing to draw. */
export function xyChart(title: string, axis: string, points: Point[], threshold: number): string | undefined {
  if (points.length === 0) return undefined;
  const pts = downsample(points);
  const labels = pts.map((p) => `"${p.label}"`).join(', ');
  const values = pts.map((p) => num(p.value)).join(', ');
  const limit = pts.map(() => num(threshold)).join(', ');
  return [
    '```mermaid',
    'xychart-beta',
    `  title "${title.replace(/"/g, "'")}"`,
    `  x-axis [${labels}]`,
    `  y-axis "${axis}" 0 --> ${num(
      axisMax(
        pts.map((p) => p.value),
        threshold,
      ),
    )}`,
    `  line [${values}]`,
    `  line [${limit}]`,
    '```',
  ].join('\n');
}

const OUTCOME_ICON: Record<Sample['outcome'], string> = {
  pass: '✅ pass',
  breach: '❌ breach',
  error: '⚠️ query error',
  'no-data': '⚪ no data',
  insufficient: '⏳ too few requests',
};

/**
 * The samples section: charts for error rate and latency (each with its threshold), then every
 * sample in a table. `heading` is the section title (e.g. "Post-deploy validation").
 */
export function samplesMarkdown(
  samples: readonly Sample[],
  thresholds: { errorRate: number; latencyMs: number },
  heading = 'Validation samples',
): string {
  if (samples.length === 0) return `#### ${heading}\n\nNo sample was taken.\n`;
  const rate = samples
    .filter((s) => s.errorRate !== null)
    .map((s) => ({ label: formatClock(s.at), value: s.errorRate as number }));
  const latency = samples
    .filter((s) => s.latencyMs !== null)
    .map((s) => ({ label: formatClock(s.at), value: s.latencyMs as number }));
  const parts: string[] = [`#### ${heading}`, ''];
  const rateChart = xyChart(
    `Error rate (threshold ${formatRatio(thresholds.errorRate)})`,
    'error ratio',
    rate,
    thresholds.errorRate,
  );
  const latencyChart = xyChart(
    `Latency (threshold ${formatMs(thresholds.latencyMs)})`,
    'ms',
    latency,
    thresholds.latencyMs,
  );
  if (rateChart) parts.push(rateChart, '');
  if (latencyChart) parts.push(latencyChart, '');
  if (!rateChart && !latencyChart) parts.push('No metric value was measured (see the samples below).', '');
  const counts = countOutcomes(samples);
  parts.push(
    `<details><summary>${samples.length} samples: ${counts}</summary>`,
    '',
    '| time | green share | error rate | latency | result | reason |',
    '|---|---|---|---|---|---|',
    ...samples.map(
      (s) =>
        `| ${formatClock(s.at)} | ${s.share === undefined ? '' : `${s.share}%`} | ${
          s.errorRate === null ? '—' : formatRatio(s.errorRate)
        } | ${s.latencyMs === null ? '—' : formatMs(s.latencyMs)} | ${OUTCOME_ICON[s.outcome]} | ${escapeCell(s.reason)} |`,
    ),
    '',
    '</details>',
    '',
  );
  return parts.join('\n');
}

function countOutcomes(samples: readonly Sample[]): string {
  const n: Record<Sample['outcome'], number> = { pass: 0, breach: 0, error: 0, 'no-data': 0, insufficient: 0 };
  for (const s of samples) n[s.outcome] += 1;
  return (Object.keys(n) as Sample['outcome'][])
    .filter((k) => n[k] > 0)
    .map((k) => `${n[k]} ${k}`)
    .join(', ');
}
