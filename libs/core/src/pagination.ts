import { BatonError } from './errors';

export const PAGE_LIMIT = { min: 1, max: 1000, default: 100 } as const;

export interface Page<T> {
  data: T[];
  nextCursor: string | null;
}

/** Cursors are opaque to clients: base64url of the last row's sort key. */
export const encodeCursor = (key: string): string => Buffer.from(key, 'utf8').toString('base64url');

export function decodeCursor(cursor: string | undefined): string | undefined {
  if (cursor === undefined || cursor === '') return undefined;
  const key = Buffer.from(cursor, 'base64url').toString('utf8');
  if (!key || encodeCursor(key) !== cursor) {
    throw new BatonError('validation_failed', 'cursor is not valid', [{ field: 'cursor', message: 'is not valid' }]);
  }
  return key;
}

export function parseLimit(raw: unknown): number {
  if (raw === undefined || raw === '') return PAGE_LIMIT.default;
  const n = Number(raw);
  if (!Number.isInteger(n) || n < PAGE_LIMIT.min || n > PAGE_LIMIT.max) {
    throw new BatonError('validation_failed', `limit must be an integer from ${PAGE_LIMIT.min} to ${PAGE_LIMIT.max}`, [
      { field: 'limit', message: `must be an integer from ${PAGE_LIMIT.min} to ${PAGE_LIMIT.max}` },
    ]);
  }
  return n;
}

/** Build a page from rows fetched with limit + 1: the extra row only says there is more. */
export function toPage<T>(rows: T[], limit: number, keyOf: (row: T) => string): Page<T> {
  const more = rows.length > limit;
  const data = more ? rows.slice(0, limit) : rows;
  return { data, nextCursor: more && data.length > 0 ? encodeCursor(keyOf(data[data.length - 1])) : null };
}
