import { BatonError, isTerminal, type ErrorDetail } from '@baton/core';
import type { InferenceJobRecord } from './inference.types';
import type { ModelRegistry } from './model.registry';
import type { InferenceInput, ModelSpec, ModelVersion } from './model.types';

export const MAX_INPUTS = 10_000;
const BASE64 = /^[A-Za-z0-9+/]*={0,2}$/;

/** The body of POST /v1/inference/jobs after shape validation (DTO). */
export interface SubmitInferenceInput {
  model: string;
  version?: string;
  input?: unknown;
  inputs?: unknown[];
  priority?: number;
  notify?: unknown;
}

export interface PlannedSubmission {
  model: ModelSpec;
  version: string;
  spec: ModelVersion;
  inputs: InferenceInput[];
}

/**
 * Checks a submission against the registry: the model and version exist (the version is pinned here: the default as
 * of now when none is named), one input or 1..10,000 inputs, each shaped for the model. Base64 that is not base64 and
 * images over the model's byte limit are refused here; whether the bytes decode, and tensor shapes, are each item's
 * own outcome (the item fails alone).
 */
export function planSubmission(body: SubmitInferenceInput, registry: ModelRegistry): PlannedSubmission {
  const model = registry.model(body.model);
  if (!model) throw invalid('model', `unknown model "${body.model}"`);
  const version = body.version ?? model.defaultVersion;
  const spec = model.versions[version];
  if (!spec) throw invalid('version', `model ${model.name} has no version "${version}"`);
  if ((body.input === undefined) === (body.inputs === undefined)) {
    throw invalid('inputs', 'give exactly one of input and inputs');
  }
  const inputs = body.inputs ?? [body.input];
  if (!Array.isArray(inputs) || inputs.length < 1 || inputs.length > MAX_INPUTS) {
    throw invalid('inputs', `must be a list of 1 to ${MAX_INPUTS} items`);
  }
  const field = (i: number) => (body.inputs ? `inputs[${i}]` : 'input');
  const details: ErrorDetail[] = [];
  let tooLarge: ErrorDetail | undefined;
  inputs.forEach((raw, i) => {
    const problem = checkInput(raw, spec);
    if (problem === 'too_large') {
      tooLarge ??= { field: `${field(i)}.image`, message: `is over ${maxBytesOf(spec)} bytes` };
    } else if (problem) {
      details.push({ field: `${field(i)}${problem.field}`, message: problem.message });
    }
  });
  if (details.length > 0) {
    throw new BatonError(
      'validation_failed',
      details
        .slice(0, 3)
        .map((d) => `${d.field}: ${d.message}`)
        .join('; '),
      details.slice(0, 100),
    );
  }
  if (tooLarge) throw new BatonError('payload_too_large', `${tooLarge.field} ${tooLarge.message}`, [tooLarge]);
  return { model, version, spec, inputs: inputs as InferenceInput[] };
}

const maxBytesOf = (spec: ModelVersion): number => (spec.input.kind === 'image' ? spec.input.maxBytes : 0);

function checkInput(raw: unknown, spec: ModelVersion): { field: string; message: string } | 'too_large' | null {
  if (typeof raw !== 'object' || raw === null || Array.isArray(raw)) return { field: '', message: 'must be an object' };
  const item = raw as Record<string, unknown>;
  if (spec.input.kind === 'image') {
    if (Object.keys(item).length !== 1 || typeof item.image !== 'string') {
      return { field: '', message: 'must be {"image": "<base64 PNG or JPEG>"}' };
    }
    const b64 = item.image;
    if (b64.length === 0 || b64.length % 4 !== 0 || !BASE64.test(b64)) {
      return { field: '.image', message: 'is not base64' };
    }
    const bytes = (b64.length / 4) * 3 - (b64.endsWith('==') ? 2 : b64.endsWith('=') ? 1 : 0);
    return bytes > spec.input.maxBytes ? 'too_large' : null;
  }
  const tensor = item.tensor as Record<string, unknown> | undefined;
  if (Object.keys(item).length !== 1 || typeof tensor !== 'object' || tensor === null) {
    return { field: '', message: 'must be {"tensor": {"dims": [...], "data": [...]}}' };
  }
  if (!Array.isArray(tensor.dims) || !tensor.dims.every((d) => Number.isInteger(d))) {
    return { field: '.tensor.dims', message: 'must be a list of integers' };
  }
  if (!Array.isArray(tensor.data)) return { field: '.tensor.data', message: 'must be a list of numbers' };
  return null;
}

const invalid = (field: string, message: string): BatonError =>
  new BatonError('validation_failed', `${field}: ${message}`, [{ field, message }]);

/**
 * Orders summaries of one job: a later state never loses to an earlier one written late. Finished items only grow,
 * running follows queued, and a terminal state is final.
 */
export function summaryVersion(job: Pick<InferenceJobRecord, 'status' | 'succeeded' | 'failed' | 'cancelled'>): number {
  const done = job.succeeded + job.failed + job.cancelled;
  const stage = isTerminal(job.status) ? 2 : job.status === 'running' ? 1 : 0;
  return stage * 1_000_000 + done;
}

/** When results of a job created at `createdAt` expire. */
export const expiresAt = (createdAt: Date, ttlMs: number): Date => new Date(createdAt.getTime() + ttlMs);

const TOP_LEVEL = new Set(['model', 'version', 'input', 'inputs', 'priority', 'notify']);

/**
 * The top level of a submission body, checked by hand rather than by a DTO: a DTO would copy and walk every one of up
 * to 10,000 inputs before planSubmission checks them against the model anyway.
 */
export function parseSubmission(body: unknown): SubmitInferenceInput {
  if (typeof body !== 'object' || body === null || Array.isArray(body)) {
    throw invalid('body', 'must be a JSON object');
  }
  const b = body as Record<string, unknown>;
  const details: ErrorDetail[] = [];
  for (const key of Object.keys(b)) if (!TOP_LEVEL.has(key)) details.push({ field: key, message: 'is not allowed' });
  if (typeof b.model !== 'string' || b.model.length === 0) details.push({ field: 'model', message: 'must be a name' });
  if (b.version !== undefined && (typeof b.version !== 'string' || b.version.length === 0)) {
    details.push({ field: 'version', message: 'must be a string' });
  }
  if (b.inputs !== undefined && !Array.isArray(b.inputs)) details.push({ field: 'inputs', message: 'must be a list' });
  if (
    b.priority !== undefined &&
    !(Number.isInteger(b.priority) && (b.priority as number) >= 1 && (b.priority as number) <= 10)
  ) {
    details.push({ field: 'priority', message: 'must be an integer from 1 (high) to 10 (low)' });
  }
  if (b.notify !== undefined && (typeof b.notify !== 'object' || b.notify === null || Array.isArray(b.notify))) {
    details.push({ field: 'notify', message: 'must be an object' });
  }
  if (details.length > 0) {
    throw new BatonError('validation_failed', details.map((d) => `${d.field}: ${d.message}`).join('; '), details);
  }
  return b as unknown as SubmitInferenceInput;
}

/** How the GPU worker runs its model: session threads, each running one batch at a time, and threads per session. */
export interface SessionLayout {
  sessions: number;
  threadsPerSession: number;
}

/**
 * The GPU worker's session layout from INFERENCE_SESSIONS and INFERENCE_THREADS (each used as it is above 0). By
 * default one session, and the cores but one for it (at least one thread): the worker's main thread decodes, resizes
 * and normalises the next items and does the queue and database work while the model runs, and a model whose
 * operators are split over every core makes each batch wait for its slowest part whenever the main thread, Redis or
 * Postgres holds a core. More sessions run batches side by side, each on its own thread, sharing those cores.
 */
export function sessionLayout(settings: { sessions: number; threads: number }, cores: number): SessionLayout {
  const sessions = settings.sessions > 0 ? settings.sessions : 1;
  const auto = Math.max(1, Math.floor((cores - 1) / sessions));
  return { sessions, threadsPerSession: settings.threads > 0 ? settings.threads : auto };
}
