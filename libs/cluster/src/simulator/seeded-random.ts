import type { Random } from '@baton/core';
import type { DurationSpec } from './simulator.config';

export type { Random } from '@baton/core';
/** The simulator's named, reproducible streams (see libs/core random). */
export { seededStream as seededRandom } from '@baton/core';

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
