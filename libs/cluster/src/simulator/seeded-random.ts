import { createHash } from 'node:crypto';
import type { DurationSpec } from './simulator.config';

/** A stream of uniform draws in [0, 1). */
export type Random = () => number;

/**
 * A reproducible stream named by `parts` (e.g. seed, "job", client token): the same parts always give the same
 * draws, so a job's fate depends on its seed and token, not on which request happened to arrive first.
 */
export function seededRandom(...parts: (string | number)[]): Random {
  const digest = createHash('sha256').update(parts.join('\u0000')).digest();
  return mulberry32(digest.readUInt32LE(0));
}

// mulberry32: tiny, fast and good enough for fault injection (not for anything secret).
function mulberry32(seed: number): Random {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

/** A duration from its spec, using one draw whether or not the spec is a range (keeps streams aligned). */
export function drawDuration(spec: DurationSpec, random: Random): number {
  const u = random();
  return typeof spec === 'number' ? spec : Math.round(spec.min + u * (spec.max - spec.min));
}

/** A UUID-shaped id (version 4 layout) made from draws, so seeded runs name their jobs the same way. */
export function drawUuid(random: Random): string {
  const bytes = Buffer.alloc(16);
  for (let i = 0; i < 16; i += 4) bytes.writeUInt32LE(Math.floor(random() * 4294967296), i);
  bytes[6] = (bytes[6] & 0x0f) | 0x40;
  bytes[8] = (bytes[8] & 0x3f) | 0x80;
  const hex = bytes.toString('hex');
  return `${hex.slice(0, 8)}-${hex.slice(8, 12)}-${hex.slice(12, 16)}-${hex.slice(16, 20)}-${hex.slice(20)}`;
}
