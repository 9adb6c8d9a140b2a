/** Where a model's `.onnx` file is: a path (relative to the models file), or a file inside an installed npm package. */
export type ModelFile = { path: string } | { package: string; file: string };

/** An image input: base64 PNG or JPEG, resized to height × width (keeping the aspect ratio, padded right), normalised. */
export interface ImageInputSpec {
  kind: 'image';
  height: number;
  width: number;
  /** Per-channel (r, g, b) mean and std applied to pixel/255. */
  mean: [number, number, number];
  std: [number, number, number];
  /** Largest encoded image accepted, in bytes (after base64 decoding). */
  maxBytes: number;
  /** Largest decoded image accepted, in pixels (width × height), so a small file cannot decode to a huge bitmap. */
  maxPixels: number;
}

/**
 * A raw-tensor input: one item's dims (without the batch dimension). A `null` dim is free, between 1 and the matching
 * `maxDims` entry and a multiple of `multipleOf`.
 */
export interface TensorInputSpec {
  kind: 'tensor';
  dims: (number | null)[];
  maxDims: number[];
  multipleOf: number;
}

export type InputSpec = ImageInputSpec | TensorInputSpec;

export type OutputSpec = { kind: 'classifier'; labels: string[] } | { kind: 'tensor' };

export interface ModelVersion {
  /** The absolute path of the `.onnx` file. */
  file: string;
  input: InputSpec;
  output: OutputSpec;
  /** Cap on items per session call for this version (the worker's INFERENCE_MAX_BATCH_SIZE caps it too). */
  maxBatchSize: number;
}

export interface ModelSpec {
  name: string;
  description: string;
  defaultVersion: string;
  versions: Record<string, ModelVersion>;
}

/** A model as GET /v1/models describes it (API.md). */
export interface ModelView {
  name: string;
  description: string;
  versions: string[];
  defaultVersion: string;
  input: Record<string, unknown>;
  output: Record<string, unknown>;
}

/** One item of a submission, as the client sent it. */
export type InferenceInput = { image: string } | { tensor: { dims: number[]; data: number[] } };

/** One item's output (API.md). */
export type InferenceOutput =
  { label: string; score: number; scores?: Record<string, number> } | { tensor: { dims: number[]; data: number[] } };
