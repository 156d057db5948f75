/**
 * The one file that imports sharp. Untrusted bytes go in, a plain RGB buffer comes out:
 * - formats on an allow-list (JPEG, PNG, WebP, AVIF, GIF first frame, HEIC only where the
 *   libvips build decodes HEVC), sniffed from the header, not from a file name;
 * - byte cap, and a pixel cap checked on the header before any pixel is decoded (bombs);
 * - failOn 'warning' so truncated or damaged files are refused instead of half-decoded;
 * - EXIF orientation applied; output carries no metadata (raw pixels, or freshly encoded files).
 * Animated images (more than one frame) are refused with `animated_image` by default: a moving
 * avatar is rarely a usable portrait and a many-frame GIF is a classic decoder bomb. Only the
 * first frame is ever read (pages: 1); `allowAnimated` takes it instead of refusing.
 */
import sharp, { type Metadata, type Sharp } from 'sharp';
import { InputError } from '../../base/errors.ts';
import { config } from '../config.ts';

/** Interleaved 8-bit RGB, row-major, no padding. */
export interface RgbImage {
  data: Uint8Array;
  width: number;
  height: number;
}

export interface DecodedImage extends RgbImage {
  /** Container format as sharp names it (jpeg, png, webp, heif, gif). */
  format: string;
  /** EXIF orientation tag that was applied (1 = none). */
  exifOrientation: number;
  /** Frames in the file; only the first one was decoded. */
  pages: number;
}

export interface DecodeLimits {
  maxBytes?: number;
  maxPixels?: number;
  /** Take the first frame of an animated GIF/WebP instead of refusing it (default false). */
  allowAnimated?: boolean;
}

const ALLOWED = new Set(['jpeg', 'png', 'webp', 'gif', 'heif']);

const GOOD_PHOTO = 'Send a JPEG, PNG or WebP photo';

// Every photo is decoded once: libvips' operation cache would only hold memory.
sharp.cache(false);

/** Sniff the container from magic bytes; undefined for anything that is not a known image. */
export function sniffFormat(bytes: Uint8Array): string | undefined {
  const b = bytes;
  const ascii = (start: number, s: string) =>
    b.length >= start + s.length && [...s].every((c, i) => b[start + i] === c.charCodeAt(0));
  if (b.length >= 3 && b[0] === 0xff && b[1] === 0xd8 && b[2] === 0xff) return 'jpeg';
  if (b.length >= 8 && b[0] === 0x89 && ascii(1, 'PNG\r\n\x1a\n')) return 'png';
  if (ascii(0, 'GIF87a') || ascii(0, 'GIF89a')) return 'gif';
  if (ascii(0, 'RIFF') && ascii(8, 'WEBP')) return 'webp';
  if (ascii(4, 'ftyp')) {
    const brand = String.fromCharCode(...b.subarray(8, 12));
    if (['avif', 'avis'].includes(brand)) return 'avif';
    if (['heic', 'heix', 'hevc', 'hevx', 'heim', 'heis', 'mif1', 'msf1'].includes(brand)) return 'heic';
    return 'isobmff';
  }
  if (ascii(0, 'II*\0') || ascii(0, 'MM\0*')) return 'tiff';
  if (ascii(0, 'BM')) return 'bmp';
  if (ascii(0, '<svg') || ascii(0, '<?xml')) return 'svg';
  if (ascii(0, '%PDF')) return 'pdf';
  if (ascii(4, 'jP  ') || ascii(0, '\0\0\0\x0cJXL ') || (b[0] === 0xff && b[1] === 0x0a)) return 'jxl/jp2';
  return undefined;
}

function tooBig(what: string, limit: number, unit: string, context: Record<string, unknown>): InputError {
  return new InputError(
    what === 'bytes' ? 'image_too_large' : 'image_too_many_pixels',
    what === 'bytes'
      ? `The image is larger than ${(limit / 1024 / 1024).toFixed(0)} MB. Send a smaller photo (a normal phone photo is 2-8 MB).`
      : `The image has more than ${(limit / 1e6).toFixed(0)} million pixels. Send a photo of at most ${(limit / 1e6).toFixed(0)} megapixels.`,
    { context: { ...context, limit, unit } },
  );
}

function sharpError(e: unknown, format: string | undefined): InputError {
  const msg = e instanceof Error ? e.message : String(e);
  if (/pixel limit/i.test(msg)) {
    return new InputError('image_too_many_pixels', `The image has too many pixels. ${GOOD_PHOTO}.`, {
      cause: e,
    });
  }
  if (format === 'heic' || /hevc|heif/i.test(msg)) {
    return new InputError(
      'unsupported_format',
      `This image format cannot be read here (${format ?? 'unknown'}). ${GOOD_PHOTO} (on an iPhone: Settings > Camera > Formats > Most Compatible).`,
      { cause: e, context: { format } },
    );
  }
  return new InputError(
    'corrupt_image',
    `The image file is damaged or incomplete (${format ?? 'unknown'} could not be decoded). Send the original photo again.`,
    { cause: e, context: { format } },
  );
}

/**
 * Decode untrusted image bytes to upright RGB. Throws InputError with codes: empty_file,
 * not_an_image, unsupported_format, image_too_large, image_too_many_pixels, animated_image,
 * corrupt_image.
 */
export async function decodeImage(bytes: Uint8Array, limits: DecodeLimits = {}): Promise<DecodedImage> {
  const maxBytes = limits.maxBytes ?? config().FACECHAIN_MAX_IMAGE_BYTES;
  const maxPixels = limits.maxPixels ?? config().FACECHAIN_MAX_IMAGE_PIXELS;
  if (bytes.length === 0) {
    throw new InputError('empty_file', `The file is empty (0 bytes). ${GOOD_PHOTO}.`);
  }
  if (bytes.length > maxBytes) throw tooBig('bytes', maxBytes, 'bytes', { size: bytes.length });
  const sniffed = sniffFormat(bytes);
  if (sniffed === undefined) {
    throw new InputError('not_an_image', `The file is not an image. ${GOOD_PHOTO}.`);
  }
  if (!['jpeg', 'png', 'webp', 'gif', 'avif', 'heic'].includes(sniffed)) {
    throw new InputError(
      'unsupported_format',
      `Images in ${sniffed.toUpperCase()} format are not accepted. ${GOOD_PHOTO}.`,
      { context: { format: sniffed } },
    );
  }
  const input = Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  // Header only: sizes and page count come from the file header, before pixels are decoded.
  let meta: Metadata;
  try {
    meta = await sharp(input, { failOn: 'warning', limitInputPixels: false, pages: 1 }).metadata();
  } catch (e) {
    throw sharpError(e, sniffed);
  }
  if (!meta.format || !ALLOWED.has(meta.format)) {
    throw new InputError('unsupported_format', `Images in this format are not accepted. ${GOOD_PHOTO}.`, {
      context: { format: meta.format },
    });
  }
  const width = meta.width ?? 0;
  const height = meta.height ?? 0;
  if (!width || !height) throw sharpError(new Error('no dimensions'), sniffed);
  if (width * height > maxPixels) {
    throw tooBig('pixels', maxPixels, 'pixels', { width, height });
  }
  if ((meta.pages ?? 1) > 1 && !limits.allowAnimated) {
    throw new InputError(
      'animated_image',
      `The image is animated (${meta.pages} frames). Send a still photo (JPEG, PNG or WebP).`,
      { context: { pages: meta.pages } },
    );
  }
  if (sniffed === 'heic' && meta.compression === 'hevc' && !heicSupported()) {
    throw sharpError(new Error('hevc decoding unsupported'), 'heic');
  }
  try {
    const { data, info } = await sharp(input, {
      failOn: 'warning',
      limitInputPixels: maxPixels,
      pages: 1,
      page: 0,
    })
      .autoOrient()
      .removeAlpha()
      .toColourspace('srgb')
      .raw()
      .toBuffer({ resolveWithObject: true });
    if (info.channels !== 3) throw new Error(`unexpected channel count ${info.channels}`);
    return {
      data: new Uint8Array(data.buffer, data.byteOffset, data.byteLength),
      width: info.width,
      height: info.height,
      format: meta.format,
      exifOrientation: meta.orientation ?? 1,
      pages: meta.pages ?? 1,
    };
  } catch (e) {
    throw sharpError(e, sniffed);
  }
}

/** Whether this libvips build can decode HEVC-coded HEIF (iPhone photos). Prebuilt sharp cannot. */
export function heicSupported(): boolean {
  const suffixes = sharp.format.heif.input.fileSuffix ?? [];
  return suffixes.some((s) => s === '.heic' || s === '.heif');
}

function raw(img: RgbImage): Sharp {
  return sharp(Buffer.from(img.data.buffer, img.data.byteOffset, img.data.byteLength), {
    raw: { width: img.width, height: img.height, channels: 3 },
  });
}

async function toRgb(s: Sharp): Promise<RgbImage> {
  const { data, info } = await s.removeAlpha().raw().toBuffer({ resolveWithObject: true });
  return {
    data: new Uint8Array(data.buffer, data.byteOffset, data.byteLength),
    width: info.width,
    height: info.height,
  };
}

/** Resize to exactly width x height (fill) or to fit inside, with a high-quality kernel. */
export async function resizeRgb(
  img: RgbImage,
  width: number,
  height: number,
  fit: 'fill' | 'inside' = 'fill',
): Promise<RgbImage> {
  return toRgb(raw(img).resize(width, height, { fit, kernel: 'lanczos3' }));
}

/** Copy a rectangle (clamped to the image). */
export function extractRgb(
  img: RgbImage,
  left: number,
  top: number,
  width: number,
  height: number,
): RgbImage {
  const x0 = Math.max(0, Math.min(img.width - 1, Math.round(left)));
  const y0 = Math.max(0, Math.min(img.height - 1, Math.round(top)));
  const w = Math.max(1, Math.min(img.width - x0, Math.round(width)));
  const h = Math.max(1, Math.min(img.height - y0, Math.round(height)));
  const out = new Uint8Array(w * h * 3);
  for (let y = 0; y < h; y++) {
    const src = ((y0 + y) * img.width + x0) * 3;
    out.set(img.data.subarray(src, src + w * 3), y * w * 3);
  }
  return { data: out, width: w, height: h };
}

/** Rotate clockwise by a multiple of 90 degrees (pure copy, exact). */
export function rotateRgb(img: RgbImage, degrees: 0 | 90 | 180 | 270): RgbImage {
  if (degrees === 0) return img;
  const { width: w, height: h, data } = img;
  const ow = degrees === 180 ? w : h;
  const oh = degrees === 180 ? h : w;
  const out = new Uint8Array(w * h * 3);
  for (let y = 0; y < h; y++) {
    for (let x = 0; x < w; x++) {
      let ox: number;
      let oy: number;
      if (degrees === 90) {
        ox = h - 1 - y;
        oy = x;
      } else if (degrees === 180) {
        ox = w - 1 - x;
        oy = h - 1 - y;
      } else {
        ox = y;
        oy = w - 1 - x;
      }
      const s = (y * w + x) * 3;
      const d = (oy * ow + ox) * 3;
      out[d] = data[s]!;
      out[d + 1] = data[s + 1]!;
      out[d + 2] = data[s + 2]!;
    }
  }
  return { data: out, width: ow, height: oh };
}

/** Mirror left-right. */
export function flipRgb(img: RgbImage): RgbImage {
  const { width: w, height: h, data } = img;
  const out = new Uint8Array(data.length);
  for (let y = 0; y < h; y++) {
    for (let x = 0; x < w; x++) {
      const s = (y * w + x) * 3;
      const d = (y * w + (w - 1 - x)) * 3;
      out[d] = data[s]!;
      out[d + 1] = data[s + 1]!;
      out[d + 2] = data[s + 2]!;
    }
  }
  return { data: out, width: w, height: h };
}

/** Encode as PNG (no metadata). */
export async function encodePng(img: RgbImage): Promise<Uint8Array> {
  const b = await raw(img).png({ compressionLevel: 6 }).toBuffer();
  return new Uint8Array(b.buffer, b.byteOffset, b.byteLength);
}

/**
 * Encode as JPEG (no metadata unless an EXIF orientation is asked for: tests and tools use it
 * to produce files whose stored pixels need the tag to be shown upright).
 */
export async function encodeJpeg(
  img: RgbImage,
  opts: { quality?: number; exifOrientation?: number } = {},
): Promise<Uint8Array> {
  let s = raw(img).jpeg({ quality: opts.quality ?? 90, mozjpeg: false });
  if (opts.exifOrientation) s = s.withMetadata({ orientation: opts.exifOrientation });
  const b = await s.toBuffer();
  return new Uint8Array(b.buffer, b.byteOffset, b.byteLength);
}

/** Encode as WebP (no metadata). */
export async function encodeWebp(img: RgbImage, quality = 90): Promise<Uint8Array> {
  const b = await raw(img).webp({ quality }).toBuffer();
  return new Uint8Array(b.buffer, b.byteOffset, b.byteLength);
}

/**
 * The alpha channel of an image (one byte per pixel, same upright frame as decodeImage), or
 * undefined when the file has no transparency. Validates exactly as decodeImage does first.
 * Used by try-on, where a cut-out garment's transparency is its mask.
 */
export async function decodeAlpha(
  bytes: Uint8Array,
  limits: DecodeLimits = {},
): Promise<{ width: number; height: number; alpha: Uint8Array | undefined }> {
  const rgb = await decodeImage(bytes, limits);
  const input = Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const meta = await sharp(input, { failOn: 'warning', pages: 1 }).metadata();
  if (!meta.hasAlpha) return { width: rgb.width, height: rgb.height, alpha: undefined };
  try {
    const { data, info } = await sharp(input, { failOn: 'warning', pages: 1, page: 0 })
      .autoOrient()
      .extractChannel('alpha')
      .raw()
      .toBuffer({ resolveWithObject: true });
    if (info.width !== rgb.width || info.height !== rgb.height || info.channels !== 1) {
      throw new Error('alpha does not match the image');
    }
    return {
      width: info.width,
      height: info.height,
      alpha: new Uint8Array(data.buffer, data.byteOffset, data.byteLength),
    };
  } catch (e) {
    throw sharpError(e, meta.format);
  }
}

/** PNG with an alpha channel from RGB + one alpha byte per pixel (test images, cut-outs). */
export async function encodePngRgba(img: RgbImage, alpha: Uint8Array): Promise<Uint8Array> {
  const n = img.width * img.height;
  const rgba = Buffer.alloc(n * 4);
  for (let i = 0; i < n; i++) {
    rgba[i * 4] = img.data[i * 3];
    rgba[i * 4 + 1] = img.data[i * 3 + 1];
    rgba[i * 4 + 2] = img.data[i * 3 + 2];
    rgba[i * 4 + 3] = alpha[i];
  }
  const b = await sharp(rgba, { raw: { width: img.width, height: img.height, channels: 4 } })
    .png()
    .toBuffer();
  return new Uint8Array(b.buffer, b.byteOffset, b.byteLength);
}

/** One layer of a composed picture: pixels, or an encoded image (PNG with alpha, SVG drawing). */
export interface Layer {
  input: RgbImage | Uint8Array;
  left: number;
  top: number;
}

/**
 * Layers on a plain canvas, encoded as JPEG (the report's contact sheet). SVG layers are drawn
 * by librsvg; PNG layers keep their transparency.
 */
export async function composeJpeg(
  canvas: { width: number; height: number; background: [number, number, number] },
  layers: readonly Layer[],
  quality = 88,
): Promise<Uint8Array> {
  const [r, g, b] = canvas.background;
  const b2 = await sharp({
    create: { width: canvas.width, height: canvas.height, channels: 3, background: { r, g, b } },
  })
    .composite(
      layers.map((l) =>
        l.input instanceof Uint8Array
          ? { input: Buffer.from(l.input), left: Math.round(l.left), top: Math.round(l.top) }
          : {
              input: Buffer.from(l.input.data.buffer, l.input.data.byteOffset, l.input.data.byteLength),
              raw: { width: l.input.width, height: l.input.height, channels: 3 as const },
              left: Math.round(l.left),
              top: Math.round(l.top),
            },
      ),
    )
    .jpeg({ quality, mozjpeg: false })
    .toBuffer();
  return new Uint8Array(b2.buffer, b2.byteOffset, b2.byteLength);
}

const escapeMarkup = (s: string) =>
  s.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;').replace(/"/g, '&quot;');

/**
 * Plain text drawn by Pango with the system's fonts, wrapped to `width` pixels, as an RGBA PNG
 * at most `maxHeight` tall (cut below). Scripts need a font: Chinese needs a CJK font installed
 * (Debian: fonts-wqy-microhei), else Pango draws boxes.
 */
export async function renderText(
  text: string,
  o: { width: number; maxHeight: number; sizePx: number; color: string; bold?: boolean },
): Promise<{ png: Uint8Array; width: number; height: number }> {
  const weight = o.bold ? ' weight="bold"' : '';
  const s = sharp({
    text: {
      text: `<span foreground="${o.color}"${weight}>${escapeMarkup(text)}</span>`,
      font: `sans ${o.sizePx}`,
      dpi: 72,
      width: o.width,
      rgba: true,
      wrap: 'word-char',
      align: 'centre',
    },
  });
  const png = await s.png().toBuffer({ resolveWithObject: true });
  const height = Math.min(png.info.height, o.maxHeight);
  const cut =
    png.info.height > o.maxHeight
      ? await sharp(png.data).extract({ left: 0, top: 0, width: png.info.width, height }).png().toBuffer()
      : png.data;
  return { png: new Uint8Array(cut.buffer, cut.byteOffset, cut.byteLength), width: png.info.width, height };
}
