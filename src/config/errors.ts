/**
 * Input errors. Every problem names the input, says what it got (never a secret's value) and what it
 * accepts; `parseConfig` collects them all and throws one `InputError` listing every line, so a user
 * fixes their workflow in one round trip instead of one per bad input.
 */
import { createRedactor } from '../text.js';

/** One bad input: which, what it got (already described, quoted or hidden), what it accepts. */
export interface InputProblem {
  input: string;
  got: string;
  accepts: string;
}

/** The one error type of input parsing. `input` is the first bad input's name. */
export class InputError extends Error {
  readonly input: string;
  readonly problems: readonly InputProblem[];

  constructor(problems: InputProblem | readonly InputProblem[], secrets: readonly string[] = []) {
    const list = Array.isArray(problems) ? [...(problems as readonly InputProblem[])] : [problems as InputProblem];
    if (list.length === 0) throw new TypeError('InputError needs at least one problem');
    const clean = createRedactor(secrets);
    super(clean(formatProblems(list)));
    this.name = 'InputError';
    this.input = list[0]!.input;
    this.problems = list.map((p) => ({ input: p.input, got: clean(p.got), accepts: clean(p.accepts) }));
  }
}

function formatLine(p: InputProblem): string {
  return `\`${p.input}\`: got ${p.got}; accepts ${p.accepts}`;
}

function formatProblems(list: readonly InputProblem[]): string {
  if (list.length === 1) return `Invalid input ${formatLine(list[0]!)}`;
  return [`${list.length} inputs are invalid:`, ...list.map((p) => `- ${formatLine(p)}`)].join('\n');
}

const MAX_SHOWN = 80;

/**
 * How a value is shown in a message: JSON-quoted, so control characters and line breaks are escaped
 * (a value can never start a log line and become a workflow command), and cut to a readable length.
 */
export function describeValue(raw: string): string {
  if (raw.length === 0) return 'nothing';
  const cut = raw.length > MAX_SHOWN ? `${raw.slice(0, MAX_SHOWN)}…` : raw;
  return JSON.stringify(cut);
}

/** What a message says about a secret input: never its value, at most its shape. */
export const HIDDEN = 'a value (hidden)';

/** Throws an `InputError` for one input; the parsers' common exit. */
export function fail(input: string, raw: string, accepts: string): never {
  throw new InputError({ input, got: describeValue(raw), accepts });
}
