/** A reply body cut at a byte limit: a misbehaving peer cannot make us buffer megabytes. */
export interface BoundedBody {
  text: string;
  truncated: boolean;
}

/** Reads at most `maxBytes` of the body, then cancels the rest of the stream. */
export async function readBoundedBody(response: Response, maxBytes: number): Promise<BoundedBody> {
  if (!response.body) return { text: '', truncated: false };
  const reader = response.body.getReader() as ReadableStreamDefaultReader<Uint8Array>;
  const chunks: Buffer[] = [];
  let size = 0;
  let truncated = false;
  for (;;) {
    const { done, value } = await reader.read();
    if (done) break;
    chunks.push(Buffer.from(value));
    size += value.byteLength;
    if (size > maxBytes) {
      truncated = true;
      await reader.cancel();
      break;
    }
  }
  return { text: Buffer.concat(chunks).subarray(0, maxBytes).toString('utf8'), truncated };
}

/** The parsed JSON object, or undefined when the body is cut, empty, not JSON or not an object. */
export function jsonObjectOf(body: BoundedBody): Record<string, unknown> | undefined {
  if (body.truncated || body.text === '') return undefined;
  try {
    const value = JSON.parse(body.text) as unknown;
    return typeof value === 'object' && value !== null && !Array.isArray(value)
      ? (value as Record<string, unknown>)
      : undefined;
  } catch {
    return undefined;
  }
}
