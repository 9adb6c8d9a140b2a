import type { ErrorDetail } from '@baton/core';
import { prepareItems, resolvePolicy, type BatchPolicyInput } from '@baton/batches';

const isObject = (v: unknown): v is Record<string, unknown> => typeof v === 'object' && v !== null && !Array.isArray(v);
const MAX_INFERENCE_INPUTS = 10_000;

function detailsOf(fn: () => unknown): ErrorDetail[] {
  try {
    fn();
    return [];
  } catch (error) {
    const details = (error as { details?: ErrorDetail[] }).details;
    if (!details) throw error;
    return details;
  }
}

function unknownFields(body: Record<string, unknown>, allowed: string[]): ErrorDetail[] {
  return Object.keys(body)
    .filter((k) => !allowed.includes(k))
    .map((field) => ({ field, message: 'is not a known field' }));
}

function priority(body: Record<string, unknown>): ErrorDetail[] {
  const p = body.priority;
  return p === undefined || (Number.isInteger(p) && (p as number) >= 1 && (p as number) <= 10)
    ? []
    : [{ field: 'priority', message: 'must be an integer from 1 (high) to 10 (low)' }];
}

function notify(body: Record<string, unknown>): ErrorDetail[] {
  return body.notify === undefined || isObject(body.notify)
    ? []
    : [{ field: 'notify', message: 'must be an object: { webhook?: {url, secret?}, email?: [addr] }' }];
}

/** POST /v1/batches as API.md defines it: items, name?, priority?, policy?, dedupe?, notify?. */
export function batchBodyProblems(body: Record<string, unknown>): ErrorDetail[] {
  const errors = unknownFields(body, ['items', 'name', 'priority', 'policy', 'dedupe', 'notify']);
  errors.push(...detailsOf(() => prepareItems(body.items, false)));
  if (body.name !== undefined && (typeof body.name !== 'string' || body.name.length > 200)) {
    errors.push({ field: 'name', message: 'must be a string of at most 200 characters' });
  }
  if (body.dedupe !== undefined && typeof body.dedupe !== 'boolean') {
    errors.push({ field: 'dedupe', message: 'must be true or false' });
  }
  if (body.policy !== undefined && !isObject(body.policy))
    errors.push({ field: 'policy', message: 'must be an object' });
  else errors.push(...detailsOf(() => resolvePolicy(body.policy as BatchPolicyInput | undefined)));
  return [...errors, ...priority(body), ...notify(body)];
}

/** POST /v1/inference/jobs as API.md defines it: model, version?, input? | inputs? (1–10,000), priority?, notify?. */
export function inferenceBodyProblems(body: Record<string, unknown>): ErrorDetail[] {
  const errors = unknownFields(body, ['model', 'version', 'input', 'inputs', 'priority', 'notify']);
  if (typeof body.model !== 'string' || body.model.length === 0) {
    errors.push({ field: 'model', message: 'must be a model name' });
  }
  if (body.version !== undefined && (typeof body.version !== 'string' || body.version.length === 0)) {
    errors.push({ field: 'version', message: 'must be a version name' });
  }
  if ((body.input === undefined) === (body.inputs === undefined)) {
    errors.push({ field: 'input', message: 'give exactly one of input or inputs' });
  } else if (body.input !== undefined && !isObject(body.input)) {
    errors.push({ field: 'input', message: 'must be an input item object' });
  } else if (
    body.inputs !== undefined &&
    (!Array.isArray(body.inputs) || body.inputs.length < 1 || body.inputs.length > MAX_INFERENCE_INPUTS)
  ) {
    errors.push({ field: 'inputs', message: `must be an array of 1 to ${MAX_INFERENCE_INPUTS} input items` });
  } else if (Array.isArray(body.inputs)) {
    const bad = body.inputs.findIndex((item) => !isObject(item));
    if (bad >= 0) errors.push({ field: `inputs[${bad}]`, message: 'must be an input item object' });
  }
  return [...errors, ...priority(body), ...notify(body)];
}
