import { canonicalJson, sha256, validationFailed, type ErrorDetail } from '@baton/core';

export const MAX_BATCH_ITEMS = 100_000;
/** Errors named per item are capped, so a batch of 100,000 bad items does not answer with 100,000 details. */
const MAX_ITEM_ERRORS = 20;

export interface BatchItem {
  /** Position in the submitted list: stable, shown to clients, unique within the batch. */
  index: number;
  params: Record<string, unknown>;
  /** SHA-256 of the canonical params (equal params, equal hash, whatever the key order); only computed with dedupe. */
  paramsHash: string | null;
}

const isPlainObject = (v: unknown): v is Record<string, unknown> =>
  typeof v === 'object' && v !== null && !Array.isArray(v);

/**
 * Checks the submitted items and, with `dedupe`, drops every item whose params equal an earlier item's (the earlier
 * one keeps its index). Throws validation_failed naming `items` or `items[i]`.
 */
export function prepareItems(items: unknown, dedupe: boolean): { items: BatchItem[]; dropped: number } {
  if (!Array.isArray(items)) throw validationFailed([{ field: 'items', message: 'must be an array of objects' }]);
  if (items.length < 1 || items.length > MAX_BATCH_ITEMS) {
    throw validationFailed([
      { field: 'items', message: `must hold 1 to ${MAX_BATCH_ITEMS} items, got ${items.length}` },
    ]);
  }
  const errors: ErrorDetail[] = [];
  for (let i = 0; i < items.length && errors.length < MAX_ITEM_ERRORS; i++) {
    if (!isPlainObject(items[i])) errors.push({ field: `items[${i}]`, message: 'must be an object of parameters' });
  }
  if (errors.length > 0) throw validationFailed(errors);
  if (!dedupe) {
    return {
      items: items.map((params: Record<string, unknown>, index) => ({ index, params, paramsHash: null })),
      dropped: 0,
    };
  }
  const seen = new Set<string>();
  const kept: BatchItem[] = [];
  for (let i = 0; i < items.length; i++) {
    const params = items[i] as Record<string, unknown>;
    const paramsHash = sha256(canonicalJson(params));
    if (seen.has(paramsHash)) continue;
    seen.add(paramsHash);
    kept.push({ index: i, params, paramsHash });
  }
  return { items: kept, dropped: items.length - kept.length };
}
