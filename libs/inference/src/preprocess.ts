import { decodeImage, type Rgba } from './image.decode';
import { ItemInputError } from './inference.errors';
import type { ImageInputSpec, InferenceInput, ModelVersion, TensorInputSpec } from './model.types';

/** One item ready for a session call: its dims (no batch dimension), its data, and the bucket it batches in. */
export interface PreparedItem {
  dims: number[];
  data: Float32Array;
  /** Items batch only with items of the same key (model, version and dims): no padding between them. */
  bucket: string;
}

/** Turns one validated input into a tensor for `version`; an input that cannot be used throws ItemInputError. */
export function prepareItem(version: ModelVersion, modelKey: string, input: InferenceInput): PreparedItem {
  const { dims, data } =
    version.input.kind === 'image'
      ? prepareImage(version.input, (input as { image: string }).image)
      : prepareTensor(version.input, (input as { tensor: { dims: number[]; data: number[] } }).tensor);
  return { dims, data, bucket: `${modelKey}|${dims.join('x')}` };
}

export function prepareImage(spec: ImageInputSpec, base64: string): { dims: number[]; data: Float32Array } {
  const bytes = Buffer.from(base64, 'base64');
  if (bytes.length > spec.maxBytes) {
    throw new ItemInputError('image_too_large', `image is ${bytes.length} bytes, more than ${spec.maxBytes}`);
  }
  const image = decodeImage(bytes, spec.maxPixels);
  return { dims: [3, spec.height, spec.width], data: normalise(resizeKeepRatio(image, spec.height, spec.width), spec) };
}

/**
 * Resizes to `height`, keeping the aspect ratio, at most `width` wide (bilinear); the rest of the row stays empty
 * (the caller pads it with zeros after normalising). Returns RGB floats 0..255 in HWC order and the used width.
 */
export function resizeKeepRatio(image: Rgba, height: number, width: number): { rgb: Float32Array; usedWidth: number } {
  const usedWidth = Math.max(1, Math.min(width, Math.ceil((height * image.width) / image.height)));
  const rgb = new Float32Array(height * usedWidth * 3);
  const sx = image.width / usedWidth;
  const sy = image.height / height;
  const src = image.data;
  const stride = image.width * 4;
  for (let y = 0; y < height; y++) {
    const fy = Math.max(0, (y + 0.5) * sy - 0.5);
    const y0 = Math.min(image.height - 1, Math.floor(fy));
    const r0 = y0 * stride;
    const r1 = Math.min(image.height - 1, y0 + 1) * stride;
    const wy = fy - y0;
    for (let x = 0; x < usedWidth; x++) {
      const fx = Math.max(0, (x + 0.5) * sx - 0.5);
      const x0 = Math.min(image.width - 1, Math.floor(fx));
      const c0 = x0 * 4;
      const c1 = Math.min(image.width - 1, x0 + 1) * 4;
      const wx = fx - x0;
      const o = (y * usedWidth + x) * 3;
      for (let c = 0; c < 3; c++) {
        const top = src[r0 + c0 + c] * (1 - wx) + src[r0 + c1 + c] * wx;
        const bottom = src[r1 + c0 + c] * (1 - wx) + src[r1 + c1 + c] * wx;
        rgb[o + c] = top * (1 - wy) + bottom * wy;
      }
    }
  }
  return { rgb, usedWidth };
}

/** HWC 0..255 → CHW ((v/255 − mean)/std), zero-padded on the right up to the model's width. */
export function normalise(
  resized: { rgb: Float32Array; usedWidth: number },
  spec: Pick<ImageInputSpec, 'height' | 'width' | 'mean' | 'std'>,
): Float32Array {
  const { height, width } = spec;
  const out = new Float32Array(3 * height * width);
  for (let c = 0; c < 3; c++) {
    for (let y = 0; y < height; y++) {
      for (let x = 0; x < resized.usedWidth; x++) {
        const v = resized.rgb[(y * resized.usedWidth + x) * 3 + c] / 255;
        out[c * height * width + y * width + x] = (v - spec.mean[c]) / spec.std[c];
      }
    }
  }
  return out;
}

export function prepareTensor(
  spec: TensorInputSpec,
  tensor: { dims: number[]; data: number[] },
): { dims: number[]; data: Float32Array } {
  const { dims, data } = tensor;
  const want = `[${spec.dims.map((d) => d ?? '?').join(',')}]`;
  if (dims.length !== spec.dims.length) {
    throw new ItemInputError('invalid_shape', `dims [${dims.join(',')}] do not match ${want}`);
  }
  dims.forEach((d, i) => {
    const fixed = spec.dims[i];
    const ok = fixed !== null ? d === fixed : d >= 1 && d <= spec.maxDims[i] && d % spec.multipleOf === 0;
    if (!ok) {
      const rule = fixed !== null ? `${fixed}` : `a multiple of ${spec.multipleOf} up to ${spec.maxDims[i]}`;
      throw new ItemInputError('invalid_shape', `dims[${i}] is ${d}; expected ${rule} (input ${want})`);
    }
  });
  const size = dims.reduce((a, b) => a * b, 1);
  if (data.length !== size) {
    throw new ItemInputError('invalid_shape', `data has ${data.length} values; dims [${dims.join(',')}] need ${size}`);
  }
  const out = new Float32Array(size);
  for (let i = 0; i < size; i++) {
    const v = data[i];
    if (typeof v !== 'number' || !Number.isFinite(v)) {
      throw new ItemInputError('invalid_shape', `data[${i}] is not a finite number`);
    }
    out[i] = v;
  }
  return { dims, data: out };
}

/** Stacks same-shape items into one batch tensor `[n, ...dims]`. */
export function stackBatch(items: Pick<PreparedItem, 'dims' | 'data'>[]): { dims: number[]; data: Float32Array } {
  const size = items[0].data.length;
  const data = new Float32Array(size * items.length);
  items.forEach((item, i) => {
    if (item.data.length !== size) throw new Error('stackBatch: items of different shapes');
    data.set(item.data, i * size);
  });
  return { dims: [items.length, ...items[0].dims], data };
}

/** Splits a batch output `[n, ...rest]` into n item outputs. */
export function splitBatch(output: { dims: readonly number[]; data: Float32Array }): {
  dims: number[];
  data: Float32Array;
}[] {
  const [n, ...rest] = output.dims;
  const size = rest.reduce((a, b) => a * b, 1);
  return Array.from({ length: n }, (_, i) => ({ dims: rest, data: output.data.subarray(i * size, (i + 1) * size) }));
}
