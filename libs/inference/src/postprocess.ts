import type { InferenceOutput, OutputSpec } from './model.types';

const round = (v: number): number => Math.round(v * 1e6) / 1e6;

/** One item's raw output → what the client reads: the top label and score for classifiers, else the tensor. */
export function postprocess(spec: OutputSpec, output: { dims: number[]; data: Float32Array }): InferenceOutput {
  if (spec.kind === 'tensor') return { tensor: { dims: [...output.dims], data: Array.from(output.data, round) } };
  if (output.data.length !== spec.labels.length) {
    throw new Error(`classifier output has ${output.data.length} values for ${spec.labels.length} labels`);
  }
  let best = 0;
  for (let i = 1; i < output.data.length; i++) if (output.data[i] > output.data[best]) best = i;
  const scores: Record<string, number> = {};
  spec.labels.forEach((label, i) => (scores[label] = round(output.data[i])));
  return { label: spec.labels[best], score: round(output.data[best]), scores };
}
