import { existsSync, readFileSync, statSync } from 'node:fs';
import { createRequire } from 'node:module';
import { dirname, isAbsolute, join, resolve } from 'node:path';
import type { InputSpec, ModelSpec, ModelVersion, ModelView, OutputSpec } from './model.types';

/** How often the models file is checked for changes (a repointed default shows within this). */
const RECHECK_MS = 200;
const IMAGE_DEFAULTS = {
  mean: [0.5, 0.5, 0.5],
  std: [0.5, 0.5, 0.5],
  maxBytes: 4 * 1024 * 1024,
  maxPixels: 4096 * 4096,
};

export class ModelConfigError extends Error {}

/**
 * The models a deployment serves, read from a JSON file (INFERENCE_MODELS_FILE). The file is read again when it
 * changes, so an operator can add a version or repoint a default without a restart; jobs pin their version at
 * submission, so a repoint never changes an accepted job.
 */
export class ModelRegistry {
  private models = new Map<string, ModelSpec>();
  private mtimeMs = -1;
  private checkedAt = 0;

  constructor(private readonly file: string) {
    this.reload();
  }

  list(): ModelSpec[] {
    this.refresh();
    return [...this.models.values()];
  }

  model(name: string): ModelSpec | undefined {
    this.refresh();
    return this.models.get(name);
  }

  /** A version of a model, or undefined when either is unknown. */
  version(name: string, version: string): ModelVersion | undefined {
    return this.model(name)?.versions[version];
  }

  private refresh(): void {
    const now = Date.now();
    if (now - this.checkedAt < RECHECK_MS) return;
    this.checkedAt = now;
    try {
      if (statSync(this.file).mtimeMs !== this.mtimeMs) this.reload();
    } catch {
      // A file being rewritten or briefly missing: keep serving what was last read.
    }
  }

  private reload(): void {
    const mtimeMs = statSync(this.file).mtimeMs;
    this.models = parseModelsFile(readFileSync(this.file, 'utf8'), this.file);
    this.mtimeMs = mtimeMs;
  }
}

const asText = (v: unknown): string => (typeof v === 'string' || typeof v === 'number' ? String(v) : '');

/** Parses and checks a models file; every problem throws ModelConfigError naming the model and field. */
export function parseModelsFile(text: string, file: string): Map<string, ModelSpec> {
  let raw: unknown;
  try {
    raw = JSON.parse(text);
  } catch (error) {
    throw new ModelConfigError(`${file}: not valid JSON (${(error as Error).message})`);
  }
  const list = (raw as { models?: unknown }).models;
  if (!Array.isArray(list) || list.length === 0) throw new ModelConfigError(`${file}: "models" must be a list`);
  const out = new Map<string, ModelSpec>();
  for (const entry of list as Record<string, unknown>[]) {
    const name = asText(entry.name);
    const fail = (msg: string): never => {
      throw new ModelConfigError(`${file}: model "${name}": ${msg}`);
    };
    if (!/^[a-z0-9][a-z0-9._-]{0,63}$/.test(name)) fail('name must be 1-64 of a-z, 0-9, ".", "_", "-"');
    if (out.has(name)) fail('listed twice');
    const versions: Record<string, ModelVersion> = {};
    const rawVersions = (entry.versions ?? {}) as Record<string, Record<string, unknown>>;
    for (const [v, spec] of Object.entries(rawVersions)) {
      try {
        versions[v] = parseVersion(spec, file);
      } catch (error) {
        fail(`version "${v}": ${(error as Error).message}`);
      }
    }
    if (Object.keys(versions).length === 0) fail('has no versions');
    const defaultVersion = asText(entry.defaultVersion);
    if (!versions[defaultVersion]) fail(`defaultVersion "${defaultVersion}" is not one of its versions`);
    out.set(name, { name, description: asText(entry.description), defaultVersion, versions });
  }
  return out;
}

function parseVersion(spec: Record<string, unknown>, modelsFile: string): ModelVersion {
  const file = resolveModelFile(spec.file as Record<string, string> | undefined, modelsFile);
  const maxBatchSize = Number(spec.maxBatchSize ?? 32);
  if (!Number.isInteger(maxBatchSize) || maxBatchSize < 1 || maxBatchSize > 1024) {
    throw new Error('maxBatchSize must be an integer from 1 to 1024');
  }
  return { file, input: parseInput(spec.input), output: parseOutput(spec.output), maxBatchSize };
}

function parseInput(raw: unknown): InputSpec {
  const input = (raw ?? {}) as Record<string, unknown>;
  const positive = (v: unknown, what: string): number => {
    if (!Number.isInteger(v) || (v as number) < 1) throw new Error(`input.${what} must be a positive integer`);
    return v as number;
  };
  if (input.kind === 'image') {
    const triple = (v: unknown, what: string): [number, number, number] => {
      if (!Array.isArray(v) || v.length !== 3 || v.some((x) => typeof x !== 'number')) {
        throw new Error(`input.${what} must be three numbers`);
      }
      return v as [number, number, number];
    };
    return {
      kind: 'image',
      height: positive(input.height, 'height'),
      width: positive(input.width, 'width'),
      mean: triple(input.mean ?? IMAGE_DEFAULTS.mean, 'mean'),
      std: triple(input.std ?? IMAGE_DEFAULTS.std, 'std'),
      maxBytes: positive(input.maxBytes ?? IMAGE_DEFAULTS.maxBytes, 'maxBytes'),
      maxPixels: positive(input.maxPixels ?? IMAGE_DEFAULTS.maxPixels, 'maxPixels'),
    };
  }
  if (input.kind === 'tensor') {
    const dims = input.dims;
    if (!Array.isArray(dims) || dims.length === 0) throw new Error('input.dims must be a list');
    dims.forEach((d, i) => d === null || positive(d, `dims[${i}]`));
    const maxDims = (input.maxDims ?? dims) as unknown[];
    if (!Array.isArray(maxDims) || maxDims.length !== dims.length) throw new Error('input.maxDims must match dims');
    maxDims.forEach((d, i) => positive(d, `maxDims[${i}]`));
    return {
      kind: 'tensor',
      dims: dims as (number | null)[],
      maxDims: maxDims as number[],
      multipleOf: positive(input.multipleOf ?? 1, 'multipleOf'),
    };
  }
  throw new Error('input.kind must be "image" or "tensor"');
}

function parseOutput(raw: unknown): OutputSpec {
  const output = (raw ?? {}) as Record<string, unknown>;
  if (output.kind === 'tensor') return { kind: 'tensor' };
  if (output.kind === 'classifier') {
    const labels = output.labels;
    if (!Array.isArray(labels) || labels.length < 2 || labels.some((l) => typeof l !== 'string')) {
      throw new Error('output.labels must be two or more strings');
    }
    return { kind: 'classifier', labels: labels as string[] };
  }
  throw new Error('output.kind must be "classifier" or "tensor"');
}

/** `{path}` is relative to the models file; `{package, file}` is a file inside an installed npm package. */
export function resolveModelFile(file: Record<string, string> | undefined, modelsFile: string): string {
  if (file?.path) {
    const path = isAbsolute(file.path) ? file.path : resolve(dirname(modelsFile), file.path);
    if (!existsSync(path)) throw new Error(`file ${path} does not exist`);
    return path;
  }
  if (file?.package && file.file) {
    // Packages may not export their assets (an `exports` map), so look in each node_modules on the lookup path.
    // First beside the models file, then where Baton itself is installed.
    const paths = [
      ...(createRequire(resolve(modelsFile)).resolve.paths(file.package) ?? []),
      ...(createRequire(__filename).resolve.paths(file.package) ?? []),
    ];
    for (const dir of paths) {
      const path = join(dir, file.package, file.file);
      if (existsSync(path)) return path;
    }
    throw new Error(`file ${file.file} not found in an installed package ${file.package}`);
  }
  throw new Error('file must be {"path"} or {"package", "file"}');
}

/** What GET /v1/models says about a model. */
export function describeModel(model: ModelSpec): ModelView {
  const current = model.versions[model.defaultVersion];
  const spec = current.input;
  const input: Record<string, unknown> =
    spec.kind === 'image'
      ? {
          kind: 'image',
          example: { image: '<base64 PNG or JPEG>' },
          formats: ['png', 'jpeg'],
          resizedTo: [3, spec.height, spec.width],
          maxBytes: spec.maxBytes,
          maxPixels: spec.maxPixels,
        }
      : {
          kind: 'tensor',
          example: { tensor: { dims: spec.dims.map((d) => d ?? spec.multipleOf), data: ['…'] } },
          dims: spec.dims,
          maxDims: spec.maxDims,
          multipleOf: spec.multipleOf,
        };
  const output: Record<string, unknown> =
    current.output.kind === 'classifier'
      ? { kind: 'classifier', labels: current.output.labels, example: { label: current.output.labels[0], score: 0.99 } }
      : { kind: 'tensor', example: { tensor: { dims: ['…'], data: ['…'] } } };
  return {
    name: model.name,
    description: model.description,
    versions: Object.keys(model.versions),
    defaultVersion: model.defaultVersion,
    input,
    output,
  };
}
