/**
 * Long replies (a report on 20 photos, a style list) over a platform's message limit are sent as
 * several messages rather than cut: split between lines, or between words when one line is
 * longer than the limit, and only mid-word when a single word is.
 */
export function splitText(text: string, limit: number): string[] {
  if (text.length <= limit) return [text];
  const parts: string[] = [];
  let current = '';
  const flush = () => {
    if (current) parts.push(current);
    current = '';
  };
  for (const line of text.split('\n')) {
    const joined = current ? `${current}\n${line}` : line;
    if (joined.length <= limit) {
      current = joined;
      continue;
    }
    flush();
    let rest = line;
    while (rest.length > limit) {
      const space = rest.lastIndexOf(' ', limit);
      const cut = space > 0 ? space : limit;
      parts.push(rest.slice(0, cut));
      rest = rest.slice(space > 0 ? cut + 1 : cut);
    }
    current = rest;
  }
  flush();
  return parts.length ? parts : [''];
}
