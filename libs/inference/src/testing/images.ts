import { encode as encodeJpeg } from 'jpeg-js';
import { PNG } from 'pngjs';

/** A deterministic RGBA test picture: dark strokes on a light ground, like a line of text. */
export function textLikePixels(width: number, height: number, seed = 1): Buffer {
  const data = Buffer.alloc(width * height * 4);
  for (let y = 0; y < height; y++) {
    for (let x = 0; x < width; x++) {
      const stroke = (x * 7 + seed * 13) % 23 < 4 && y > height * 0.25 && y < height * (0.7 + (seed % 3) * 0.05);
      const v = stroke ? 30 : 230;
      data.set([v, v, v, 255], (y * width + x) * 4);
    }
  }
  return data;
}

export function pngBase64(width: number, height: number, seed = 1): string {
  const png = new PNG({ width, height });
  textLikePixels(width, height, seed).copy(png.data);
  return PNG.sync.write(png).toString('base64');
}

export function jpegBase64(width: number, height: number, seed = 1): string {
  return encodeJpeg({ width, height, data: textLikePixels(width, height, seed) }, 90).data.toString('base64');
}
