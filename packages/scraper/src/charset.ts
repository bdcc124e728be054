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
  // Node 20's decoder treats windows-1252 (which WHATWG also uses for latin1/ascii labels) as
  // ISO-8859-1, losing curly quotes, dashes and the euro sign in 0x80-0x9F; map those by hand.
  if (charset === 'windows-1252') return decodeWindows1252(body);
  // fatal: false — a stray bad byte should become U+FFFD, not fail the scrape.
  return new TextDecoder(charset, { fatal: false }).decode(body);
}

/** windows-1252 bytes 0x80-0x9F (WHATWG index); the rest is identical to ISO-8859-1. */
const CP1252_HIGH = [
  0x20ac, 0x81, 0x201a, 0x192, 0x201e, 0x2026, 0x2020, 0x2021, 0x2c6, 0x2030, 0x160, 0x2039, 0x152, 0x8d, 0x17d, 0x8f, 0x90, 0x2018, 0x2019, 0x201c, 0x201d,
  0x2022, 0x2013, 0x2014, 0x2dc, 0x2122, 0x161, 0x203a, 0x153, 0x9d, 0x17e, 0x178,
];

function decodeWindows1252(body: Uint8Array): string {
  let out = '';
  for (let i = 0; i < body.length; i += 8192) {
    const codes = Array.from(body.subarray(i, i + 8192), (b) => (b >= 0x80 && b <= 0x9f ? CP1252_HIGH[b - 0x80]! : b));
    out += String.fromCharCode(...codes);
  }
  return out;
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
