/** A reply body cut at a byte limit: a misbehaving peer cannot make us buffer megabytes. */
export interface BoundedBody {
  text: string;
  truncated: boolean;
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
