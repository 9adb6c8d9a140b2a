import { validationFailed } from '@baton/core';

/**
 * A parsed cron expression: the allowed values of each field, sorted. Five fields (minute hour day-of-month month
 * day-of-week) or six (second first). Day-of-week runs 0–6 from Sunday (7 is read as Sunday too).
 */
export interface CronSpec {
  readonly expression: string;
  readonly seconds: readonly number[];
  readonly minutes: readonly number[];
  readonly hours: readonly number[];
  readonly daysOfMonth: readonly number[];
  readonly months: readonly number[];
  readonly daysOfWeek: readonly number[];
  /**
   * A day field is unrestricted only when written `*` or `?`. When both day fields are restricted a day matches if
   * either matches (POSIX and Vixie cron); otherwise the restricted one alone decides. Vixie also counts `*\/2` as
   * unrestricted (it looks at the first character); we, croner and cron-parser do not, which is less surprising.
   */
  readonly dayOfMonthRestricted: boolean;
  readonly dayOfWeekRestricted: boolean;
}

interface FieldDef {
  name: string;
  min: number;
  max: number;
  names?: readonly string[];
}

const MONTHS = ['JAN', 'FEB', 'MAR', 'APR', 'MAY', 'JUN', 'JUL', 'AUG', 'SEP', 'OCT', 'NOV', 'DEC'];
const WEEKDAYS = ['SUN', 'MON', 'TUE', 'WED', 'THU', 'FRI', 'SAT'];
const SECOND: FieldDef = { name: 'second', min: 0, max: 59 };
const MINUTE: FieldDef = { name: 'minute', min: 0, max: 59 };
const HOUR: FieldDef = { name: 'hour', min: 0, max: 23 };
const DAY_OF_MONTH: FieldDef = { name: 'day-of-month', min: 1, max: 31 };
const MONTH: FieldDef = { name: 'month', min: 1, max: 12, names: ['', ...MONTHS] };
const DAY_OF_WEEK: FieldDef = { name: 'day-of-week', min: 0, max: 7, names: WEEKDAYS };
const DAYS_IN_MONTH = [0, 31, 29, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31]; // February 29 exists in leap years

const NICKNAMES: Record<string, string> = {
  '@yearly': '0 0 1 1 *',
  '@annually': '0 0 1 1 *',
  '@monthly': '0 0 1 * *',
  '@weekly': '0 0 * * 0',
  '@daily': '0 0 * * *',
  '@midnight': '0 0 * * *',
  '@hourly': '0 * * * *',
};
const MAX_LENGTH = 256;

class CronSyntaxError extends Error {}

/** Parses and checks a cron expression; a mistake throws `validation_failed` naming `field` and what is wrong. */
export function parseCron(expression: string, field = 'cron'): CronSpec {
  try {
    return parse(expression);
  } catch (err) {
    if (err instanceof CronSyntaxError) throw validationFailed([{ field, message: err.message }]);
    throw err;
  }
}

function parse(expression: string): CronSpec {
  const trimmed = expression.trim();
  if (trimmed === '') throw new CronSyntaxError('the expression is empty');
  if (trimmed.length > MAX_LENGTH) throw new CronSyntaxError(`the expression is longer than ${MAX_LENGTH} characters`);
  let text = trimmed;
  if (trimmed.startsWith('@')) {
    const expanded = NICKNAMES[trimmed.toLowerCase()];
    if (!expanded)
      throw new CronSyntaxError(`unknown nickname ${trimmed} (known: ${Object.keys(NICKNAMES).join(', ')})`);
    text = expanded;
  }
  const parts = text.split(/\s+/);
  if (parts.length !== 5 && parts.length !== 6) {
    throw new CronSyntaxError(
      `expected 5 fields (minute hour day-of-month month day-of-week) or 6 (second first), got ${parts.length}`,
    );
  }
  const [sec, min, hour, dom, month, dow] = parts.length === 6 ? parts : ['0', ...parts];
  const spec: CronSpec = {
    expression: trimmed,
    seconds: parseField(sec, SECOND),
    minutes: parseField(min, MINUTE),
    hours: parseField(hour, HOUR),
    daysOfMonth: parseField(dom, DAY_OF_MONTH),
    months: parseField(month, MONTH),
    daysOfWeek: parseField(dow, DAY_OF_WEEK),
    dayOfMonthRestricted: dom !== '*' && dom !== '?',
    dayOfWeekRestricted: dow !== '*' && dow !== '?',
  };
  if (spec.dayOfMonthRestricted && !spec.dayOfWeekRestricted && !dayExists(spec)) {
    throw new CronSyntaxError(
      `never fires: day-of-month "${dom}" does not occur in month "${month}" (days by themselves decide when day-of-week is *)`,
    );
  }
  return spec;
}

const dayExists = (spec: CronSpec): boolean =>
  spec.months.some((m) => spec.daysOfMonth.some((d) => d <= DAYS_IN_MONTH[m]));

function parseField(text: string, def: FieldDef): number[] {
  const fail = (reason: string): never => {
    throw new CronSyntaxError(`${def.name} field "${text}": ${reason}`);
  };
  if (/[LW#]/i.test(text.replace(/[A-Z]{3}/gi, ''))) fail("'L', 'W' and '#' are not supported");
  const values = new Set<number>();
  for (const item of text.split(',')) {
    if (item === '') fail('empty list item');
    const [range, stepText, extra] = item.split('/');
    if (extra !== undefined) fail(`"${item}" has more than one "/"`);
    let step = 1;
    if (stepText !== undefined) {
      step = /^\d+$/.test(stepText) ? Number(stepText) : NaN;
      if (!(step >= 1 && step <= def.max)) fail(`step "${stepText}" must be a whole number from 1 to ${def.max}`);
    }
    let from: number;
    let to: number;
    if (range === '*' || range === '?') {
      if (range === '?' && def !== DAY_OF_MONTH && def !== DAY_OF_WEEK) fail('"?" is only allowed in the day fields');
      if (range === '?' && stepText !== undefined) fail('"?" takes no step');
      [from, to] = [def.min, def === DAY_OF_WEEK ? 6 : def.max];
    } else if (range.includes('-')) {
      const [a, b, more] = range.split('-');
      if (more !== undefined) fail(`"${range}" is not a range`);
      [from, to] = [value(a, def, fail), value(b, def, fail)];
      if (def === DAY_OF_WEEK && from > 0 && b.toUpperCase() === 'SUN') to = 7; // "FRI-SUN": Sunday ends the week
      if (from > to) fail(`range ${a}-${b} runs backwards (ranges do not wrap around)`);
    } else {
      from = value(range, def, fail);
      to = stepText === undefined ? from : def.max; // "5/15" means from 5 to the end, every 15
    }
    for (let v = from; v <= to; v += step) values.add(def === DAY_OF_WEEK && v === 7 ? 0 : v);
  }
  return [...values].sort((a, b) => a - b);
}

function value(text: string, def: FieldDef, fail: (reason: string) => never): number {
  if (text === '') return fail('a range is missing a bound');
  if (/^\d+$/.test(text)) {
    const n = Number(text);
    return n >= def.min && n <= def.max ? n : fail(`${n} is out of range ${def.min}-${def.max}`);
  }
  const index = def.names?.indexOf(text.toUpperCase()) ?? -1;
  return index > 0 || (index === 0 && def === DAY_OF_WEEK) ? index : fail(`"${text}" is not a number or a known name`);
}
