/**
 * Why one item failed for good. Codes are stable (clients branch on them); none is retryable: the same input fails
 * the same way again.
 */
export const ITEM_ERROR_CODES = [
  /** The bytes are not a PNG or JPEG that can be decoded. */
  'undecodable_image',
  /** The decoded image has more pixels than the model accepts. */
  'image_too_large',
  /** A tensor whose dims do not fit the model's input, or whose data does not fill its dims. */
  'invalid_shape',
  /** The pinned model version is no longer in the registry. */
  'model_unavailable',
  /** The runtime failed this item's batch on every attempt (retryable: a later submission may succeed). */
  'inference_failed',
] as const;
export type ItemErrorCode = (typeof ITEM_ERROR_CODES)[number];

/** An item's failure as stored and shown in results. */
export interface ItemError {
  code: ItemErrorCode;
  message: string;
  retryable: boolean;
}

/** Thrown by pre-processing: this item cannot run; the others are unaffected. */
export class ItemInputError extends Error {
  constructor(
    readonly code: ItemErrorCode,
    message: string,
  ) {
    super(message);
    this.name = 'ItemInputError';
  }

  toItemError(): ItemError {
    return { code: this.code, message: this.message, retryable: false };
  }
}
