import { createHash } from 'node:crypto';

/** A stream of uniform draws in [0, 1). */
export type Random = () => number;

/**
 * mulberry32: a tiny, fast, reproducible stream: the same seed gives the same draws. For simulations and test cases,
 * never for anything secret (ids and keys use node:crypto).
 */
export function mulberry32(seed: number): Random {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

/** A reproducible stream named by `parts` (e.g. seed, "job", client token): the same parts always give the same draws. */
export function seededStream(...parts: (string | number)[]): Random {
  return mulberry32(createHash('sha256').update(parts.join('\u0000')).digest().readUInt32LE(0));
}
