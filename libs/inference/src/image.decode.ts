import { decode as decodeJpeg } from 'jpeg-js';
import { PNG } from 'pngjs';
import { ItemInputError } from './inference.errors';

/** A decoded image: 8-bit RGBA, row-major. */
export interface Rgba {
  width: number;
  height: number;
  data: Uint8Array;
}

const PNG_MAGIC = Buffer.from([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a]);

/** The image format from the first bytes, or null when neither PNG nor JPEG. */
export function sniffFormat(bytes: Uint8Array): 'png' | 'jpeg' | null {
  if (bytes.length >= 8 && Buffer.from(bytes.subarray(0, 8)).equals(PNG_MAGIC)) return 'png';
  if (bytes.length >= 3 && bytes[0] === 0xff && bytes[1] === 0xd8 && bytes[2] === 0xff) return 'jpeg';
  return null;
}

/**
 * Decodes a PNG or JPEG, refusing images over `maxPixels` before their bitmap is allocated (PNG: from the header;
 * JPEG: the decoder's own resolution bound). Every failure is an ItemInputError with a stable code.
 */
export function decodeImage(bytes: Uint8Array, maxPixels: number): Rgba {
  const format = sniffFormat(bytes);
  if (!format) throw new ItemInputError('undecodable_image', 'not a PNG or JPEG image');
  if (format === 'png') {
    if (bytes.length < 24) throw new ItemInputError('undecodable_image', 'truncated PNG');
    const view = Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength);
    checkPixels(view.readUInt32BE(16), view.readUInt32BE(20), maxPixels);
    try {
      const png = PNG.sync.read(view);
      return { width: png.width, height: png.height, data: png.data };
    } catch (error) {
      throw new ItemInputError('undecodable_image', `PNG could not be decoded: ${(error as Error).message}`);
    }
  }
  let jpeg: Rgba;
  try {
    jpeg = decodeJpeg(bytes, {
      useTArray: true,
      formatAsRGBA: true,
      maxResolutionInMP: maxPixels / 1e6,
      maxMemoryUsageInMB: Math.ceil((maxPixels * 8) / 1e6) + 16,
    });
  } catch (error) {
    const message = (error as Error).message;
    if (/maxResolutionInMP|maxMemoryUsageInMB/.test(message)) {
      throw new ItemInputError('image_too_large', `image is larger than ${maxPixels} pixels`);
    }
    throw new ItemInputError('undecodable_image', `JPEG could not be decoded: ${message}`);
  }
  checkPixels(jpeg.width, jpeg.height, maxPixels);
  return jpeg;
}

function checkPixels(width: number, height: number, maxPixels: number): void {
  if (width === 0 || height === 0) throw new ItemInputError('undecodable_image', 'image has no pixels');
  if (width * height > maxPixels) {
    throw new ItemInputError('image_too_large', `image is ${width}x${height}, more than ${maxPixels} pixels`);
  }
}
