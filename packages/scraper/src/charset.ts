/**
 * Picks the text encoding of a response the way browsers do, in a reduced order: the
 * Content-Type charset, then a `<meta charset>` / `<meta http-equiv>` in the first 1024 bytes
 * (the HTML prescan window), then UTF-8.
 */
export function detectCharset(contentType: string | undefined, body: Uint8Array, isHtml: boolean): string {
  const fromHeader = contentType ? /charset\s*=\s*"?([\w.:-]+)"?/i.exec(contentType)?.[1] : undefined;
  if (fromHeader && isSupported(fromHeader)) return normalize(fromHeader);
  if (isHtml) {
    const head = Buffer.from(body.subarray(0, 1024)).toString('latin1');
    const meta = /<meta[^>]+charset\s*=\s*["']?\s*([\w.:-]+)/i.exec(head)?.[1];
    if (meta && isSupported(meta)) return normalize(meta);
  }
  return 'utf-8';
}

export function decodeBody(body: Uint8Array, charset: string): string {
  // fatal: false — a stray bad byte should become U+FFFD, not fail the scrape.
  return new TextDecoder(charset, { fatal: false }).decode(body);
}

function isSupported(label: string): boolean {
  try {
    new TextDecoder(label);
    return true;
  } catch {
    return false;
  }
}

function normalize(label: string): string {
  return new TextDecoder(label).encoding;
}
