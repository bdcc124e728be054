import type { Readable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { Writable } from 'node:stream';
import zlib from 'node:zlib';
import { ScrapeError, ScrapeErrorCodes } from './scrape-error.js';

export interface BodyRead {
  body: Buffer;
  /** Bytes on the wire (before decompression). */
  wireBytes: number;
}

/**
 * Reads a response body under the size cap, decoding gzip/br/deflate. The cap applies to the
 * wire bytes and again to the decoded bytes, so a compression bomb stops at the cap too.
 */
export async function readBody(stream: Readable, contentEncoding: string | undefined, maxBytes: number): Promise<BodyRead> {
  let wireBytes = 0;
  const chunks: Buffer[] = [];
  let decoded = 0;
  const tooLarge = () =>
    new ScrapeError(ScrapeErrorCodes.TOO_LARGE, `Response body exceeds the ${maxBytes}-byte cap (DROVER_SCRAPER_MAX_RESPONSE_BYTES).`, {
      details: { maxBytes },
    });
  const counter = new (class extends Writable {})({
    write(chunk: Buffer, _enc, cb) {
      decoded += chunk.length;
      if (decoded > maxBytes) return cb(tooLarge());
      chunks.push(chunk);
      cb();
    },
  });
  const wire = async function* (source: AsyncIterable<Buffer>) {
    for await (const chunk of source) {
      wireBytes += chunk.length;
      if (wireBytes > maxBytes) throw tooLarge();
      yield chunk;
    }
  };
  const decoder = decoderFor(contentEncoding);
  try {
    if (decoder) await pipeline(stream, wire, decoder, counter);
    else await pipeline(stream, wire, counter);
  } catch (err) {
    if (err instanceof ScrapeError) throw err;
    const code = (err as NodeJS.ErrnoException).code;
    if (code === 'UND_ERR_BODY_TIMEOUT' || code === 'UND_ERR_ABORTED' || code === 'ABORT_ERR') throw err;
    if (code?.startsWith('Z_') || code === 'ERR__ERROR_FORMAT_PADDING_1') {
      throw new ScrapeError(ScrapeErrorCodes.DECODE, `Could not decode the ${contentEncoding} response body (${code}).`, { cause: err });
    }
    throw err;
  }
  return { body: Buffer.concat(chunks), wireBytes };
}

function decoderFor(encoding: string | undefined): NodeJS.ReadWriteStream | undefined {
  switch ((encoding ?? '').trim().toLowerCase()) {
    case 'gzip':
    case 'x-gzip':
      return zlib.createGunzip();
    case 'br':
      return zlib.createBrotliDecompress();
    case 'deflate':
      // Servers disagree on whether "deflate" has the zlib wrapper; inflate accepts both.
      return zlib.createInflate();
    default:
      return undefined;
  }
}
