/**
 * Seeded random cron expressions and instants for the property tests: every failure names its seed and case, so
 * it can be replayed. Not exported from the lib: only its specs use it.
 */
import type { Random } from '@baton/core';
export type { Random } from '@baton/core';
export { mulberry32 as seededRandom } from '@baton/core';

const int = (rand: Random, min: number, max: number): number => min + Math.floor(rand() * (max - min + 1));
const pick = <T>(rand: Random, items: readonly T[]): T => items[Math.floor(rand() * items.length)];

interface FieldShape {
  min: number;
  max: number;
  names?: readonly string[];
  /** Values drawn more often, so that expressions hit DST transitions (which happen between 00:00 and 03:00). */
  likely?: readonly number[];
  /** How often the field is `*`. */
  star: number;
}

const MONTH_NAMES = ['JAN', 'FEB', 'MAR', 'APR', 'MAY', 'JUN', 'JUL', 'AUG', 'SEP', 'OCT', 'NOV', 'DEC'];
const DAY_NAMES = ['SUN', 'MON', 'TUE', 'WED', 'THU', 'FRI', 'SAT'];
const SHAPES: Record<string, FieldShape> = {
  second: { min: 0, max: 59, likely: [0, 0, 0, 30], star: 0.05 },
  minute: { min: 0, max: 59, likely: [0, 15, 30, 45], star: 0.15 },
  hour: { min: 0, max: 23, likely: [0, 1, 2, 3, 23], star: 0.3 },
  dayOfMonth: { min: 1, max: 31, star: 0.6 },
  month: { min: 1, max: 12, names: MONTH_NAMES, star: 0.6 },
  dayOfWeek: { min: 0, max: 7, names: DAY_NAMES, star: 0.6 },
};

function value(rand: Random, shape: FieldShape, v: number): string {
  const name = shape.names?.[shape.min === 1 ? v - 1 : v];
  return name && rand() < 0.3 ? (rand() < 0.5 ? name : name.toLowerCase()) : String(v);
}

function single(rand: Random, shape: FieldShape): number {
  return shape.likely && rand() < 0.6 ? pick(rand, shape.likely) : int(rand, shape.min, shape.max);
}

function item(rand: Random, shape: FieldShape): string {
  const r = rand();
  const a = single(rand, shape);
  const b = int(rand, a, shape.max);
  const step = int(rand, 1, Math.max(1, Math.floor((shape.max - shape.min) / 2)));
  if (r < 0.5) return value(rand, shape, a);
  if (r < 0.7) return `${value(rand, shape, a)}-${value(rand, shape, b)}`;
  if (r < 0.85) return `${a}-${b}/${step}`;
  return `${a}/${step}`;
}

function field(rand: Random, shape: FieldShape, dayField: boolean): string {
  const r = rand();
  if (r < shape.star) return dayField && rand() < 0.3 ? '?' : '*';
  if (r < shape.star + 0.1) {
    const step = int(rand, 1, Math.max(1, Math.floor((shape.max - shape.min) / 2)));
    return `*/${step}`;
  }
  if (rand() < 0.7) return item(rand, shape);
  return Array.from({ length: int(rand, 2, 4) }, () => item(rand, shape)).join(',');
}

/** A random 5-field (or, when `seconds` allows, 6-field) expression; some may never fire and fail to parse. */
export function randomCron(rand: Random, seconds = 0.4): string {
  const parts = [
    field(rand, SHAPES.minute, false),
    field(rand, SHAPES.hour, false),
    field(rand, SHAPES.dayOfMonth, true),
    field(rand, SHAPES.month, false),
    field(rand, SHAPES.dayOfWeek, true),
  ];
  if (rand() < seconds) parts.unshift(field(rand, SHAPES.second, false));
  return parts.join(' ');
}

/** A random instant between two, at a random millisecond. */
export function randomInstant(rand: Random, from: number, to: number): Date {
  return new Date(from + Math.floor(rand() * (to - from)));
}

/**
 * Two spellings croner reads otherwise, rewritten to what we mean: croner refuses "5/15" (a start with a step, no
 * end), which we read as cron-parser and Quartz do, "5-59/15"; and croner reads SUN at the end of a range as 7
 * even after 0, so "SUN-SUN" is the whole week there and Sunday only here.
 */
export function forCroner(expr: string): string {
  const fields = expr.split(' ');
  const maxima = [59, 59, 23, 31, 12, 7].slice(6 - fields.length);
  return fields
    .map((field, i) =>
      field
        .split(',')
        .map((item) =>
          item.replace(/^(\w+)\/(\d+)$/, (_, start: string, step: string) => `${start}-${maxima[i]}/${step}`),
        )
        .map((item) => (i === fields.length - 1 ? item.replace(/^(0|sun)-sun$/i, '0') : item))
        .join(','),
    )
    .join(' ');
}
