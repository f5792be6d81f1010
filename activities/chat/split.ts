/**
 * Long texts in chat: split at paragraph, then line, then word boundaries into parts a platform takes, numbered
 * `(1/3)` so a reader sees the whole arrived.
 */

/** Parts of at most `limit` characters (the numbering included). */
export function splitText(text: string, limit: number): string[] {
  if (text.length <= limit) return [text];
  const room = limit - 10; // "(12/34) " and a newline
  const parts: string[] = [];
  let rest = text;
  while (rest.length > room) {
    const window = rest.slice(0, room);
    let cut = Math.max(window.lastIndexOf('\n\n'), -1);
    if (cut < room * 0.5) cut = window.lastIndexOf('\n');
    if (cut < room * 0.5) cut = window.lastIndexOf(' ');
    if (cut < room * 0.5) cut = room;
    parts.push(rest.slice(0, cut).trimEnd());
    rest = rest.slice(cut).trimStart();
  }
  if (rest) parts.push(rest);
  return parts.map((p, i) => `(${i + 1}/${parts.length}) ${p}`);
}
