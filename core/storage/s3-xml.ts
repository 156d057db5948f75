/**
 * Just enough XML for S3's responses and the two request bodies we send. S3's answers are flat
 * and regular (no attributes we need, no same-named nesting), so reading an element's text by
 * name is exact for them; a general XML parser would be a dependency for nothing.
 */

const ENTITIES: Record<string, string> = { amp: '&', lt: '<', gt: '>', quot: '"', apos: "'" };

export function xmlDecode(s: string): string {
  return s.replace(/&(#x[0-9a-fA-F]+|#\d+|amp|lt|gt|quot|apos);/g, (_, e: string) =>
    e.startsWith('#x')
      ? String.fromCodePoint(Number.parseInt(e.slice(2), 16))
      : e.startsWith('#')
        ? String.fromCodePoint(Number.parseInt(e.slice(1), 10))
        : ENTITIES[e],
  );
}

export const xmlEncode = (s: string): string =>
  s.replace(/[&<>"']/g, (c) => `&${Object.keys(ENTITIES).find((k) => ENTITIES[k] === c)};`);

/** The raw inner XML of every <tag>…</tag> (or <tag/>, as ''), in document order. */
export function xmlBlocks(xml: string, tag: string): string[] {
  const re = new RegExp(`<${tag}(?:\\s[^>]*)?(?:/>|>([\\s\\S]*?)</${tag}>)`, 'g');
  return [...xml.matchAll(re)].map((m) => m[1] ?? '');
}

/** The decoded text of the first <tag>, or undefined when there is none. */
export function xmlText(xml: string, tag: string): string | undefined {
  const b = xmlBlocks(xml, tag)[0];
  return b === undefined ? undefined : xmlDecode(b.trim());
}

/** The name of the document's root element (an S3 error body is <Error>, even under a 200). */
export function xmlRoot(xml: string): string | undefined {
  return /^\s*(?:<\?xml[^>]*\?>\s*)?<([A-Za-z][\w.-]*)/.exec(xml)?.[1];
}
