import { randomBytes } from 'node:crypto';

/** Type prefixes of API.md: every id says what it names. */
export const ID_PREFIX = {
  batch: 'bat',
  batchJob: 'job',
  task: 'tsk',
  inference: 'inf',
  schedule: 'sch',
  run: 'run',
  notification: 'ntf',
  tenant: 'ten',
  apiKey: 'key',
  deadLetter: 'dlq',
  alert: 'alr',
  delivery: 'dlv',
  subscription: 'sub',
  attempt: 'att',
  blob: 'blb',
  worker: 'wkr',
} as const;
export type IdKind = keyof typeof ID_PREFIX;

// Crockford base32: sortable as text, no ambiguous letters.
const ALPHABET = '0123456789abcdefghjkmnpqrstvwxyz';

function encodeTime(ms: number): string {
  let out = '';
  for (let i = 0; i < 10; i++) {
    out = ALPHABET[ms % 32] + out;
    ms = Math.floor(ms / 32);
  }
  return out;
}

function encodeRandom(bytes: Buffer): string {
  let out = '';
  for (const b of bytes) out += ALPHABET[b & 31];
  return out;
}

// Random bytes drawn in bulk: one getrandom call per 4096 ids instead of one per id, on the request path.
const POOL_IDS = 4096;
let pool = Buffer.alloc(0);
let offset = 0;

/** `n` cryptographically random bytes (a view into a pool refilled in bulk). */
export function randomChunk(n: number): Buffer {
  if (offset + n > pool.length) {
    pool = randomBytes(Math.max(n, 16 * POOL_IDS));
    offset = 0;
  }
  const chunk = pool.subarray(offset, offset + n);
  offset += n;
  return chunk;
}

/** A new id: prefix, 10 chars of millisecond time (so ids sort by creation), 16 random chars (80 bits). */
export function newId(kind: IdKind, now = Date.now()): string {
  return `${ID_PREFIX[kind]}_${encodeTime(now)}${encodeRandom(randomChunk(16))}`;
}

/** The smallest id of this kind created at `ms`: ids sort by time, so `id < idFloor(kind, t)` means "created before t". */
export const idFloor = (kind: IdKind, ms: number): string => `${ID_PREFIX[kind]}_${encodeTime(ms)}${'0'.repeat(16)}`;

const ID_PATTERN = /^[a-z]{3}_[0-9a-hjkmnp-tv-z]{26}$/;

/** True when `value` is shaped like an id of this kind (used to answer 404 without a query). */
export function isId(kind: IdKind, value: string): boolean {
  return value.startsWith(`${ID_PREFIX[kind]}_`) && ID_PATTERN.test(value);
}
