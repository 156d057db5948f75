/**
 * Discord refuses files over the upload limit (10 MiB by default; the interaction tells the
 * current one). Re-encode images as JPEG, then shrink, until they fit; else report clearly.
 */
import { decodeImage, encodeJpeg, type RgbImage, resizeRgb } from '../../core/image/codec.ts';

export const DEFAULT_UPLOAD_LIMIT = 10 * 1024 * 1024;

export async function fitImage(bytes: Uint8Array, limit: number): Promise<Uint8Array | undefined> {
  if (bytes.byteLength <= limit) return bytes;
  let img: RgbImage = await decodeImage(bytes, { maxBytes: Math.max(bytes.byteLength, 1024) });
  for (let i = 0; i < 6; i++) {
    const jpeg = await encodeJpeg(img, { quality: 85 });
    if (jpeg.byteLength <= limit) return jpeg;
    img = await resizeRgb(
      img,
      Math.max(1, Math.round(img.width * 0.7)),
      Math.max(1, Math.round(img.height * 0.7)),
    );
  }
  return undefined;
}
