import type { Readable } from 'node:stream';
import { Writable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import zlib from 'node:zlib';
import { ScrapeError, ScrapeErrorCodes } from './scrape-error.js';

export interface BodyRead {
  body: Buffer;
  /** Bytes on the wire (before decompression). */
  wireBytes: number;
}

function tooLarge(maxBytes: number): ScrapeError {
  return new ScrapeError(ScrapeErrorCodes.TOO_LARGE, `Response body exceeds the ${maxBytes}-byte cap (DROVER_SCRAPER_MAX_RESPONSE_BYTES).`, {
    details: { maxBytes },
  });
}

/**
 * Reads a response body under the size cap, decoding gzip/br/deflate. The cap applies to the
 * wire bytes and again to the decoded bytes, so a compression bomb stops at the cap too.
 */
export function readBody(stream: Readable, contentEncoding: string | undefined, maxBytes: number): Promise<BodyRead> {
  const decoder = decoderFor(contentEncoding);
  return decoder ? readDecoded(stream, decoder, contentEncoding, maxBytes) : readIdentity(stream, maxBytes);
}

/** Identity bodies: plain 'data' events, no pipeline per request (this is the hot path). */
function readIdentity(stream: Readable, maxBytes: number): Promise<BodyRead> {
  return new Promise<BodyRead>((resolve, reject) => {
    const chunks: Buffer[] = [];
    let wireBytes = 0;
    stream.on('data', (chunk: Buffer) => {
      wireBytes += chunk.length;
      if (wireBytes > maxBytes) {
        stream.destroy();
        reject(tooLarge(maxBytes));
        return;
      }
      chunks.push(chunk);
    });
    stream.once('end', () => resolve({ body: chunks.length === 1 ? chunks[0]! : Buffer.concat(chunks), wireBytes }));
    stream.once('error', reject);
  });
}

async function readDecoded(stream: Readable, decoder: NodeJS.ReadWriteStream, encoding: string | undefined, maxBytes: number): Promise<BodyRead> {
  let wireBytes = 0;
  let decoded = 0;
  const chunks: Buffer[] = [];
  const wire = async function* (source: AsyncIterable<Buffer>) {
    for await (const chunk of source) {
      wireBytes += chunk.length;
      if (wireBytes > maxBytes) throw tooLarge(maxBytes);
      yield chunk;
    }
  };
  const sink = new Writable({
    write(chunk: Buffer, _enc, cb) {
      decoded += chunk.length;
      if (decoded > maxBytes) return cb(tooLarge(maxBytes));
      chunks.push(chunk);
      cb();
    },
  });
  try {
    await pipeline(stream, wire, decoder, sink);
  } catch (err) {
    if (err instanceof ScrapeError) throw err;
    const code = (err as NodeJS.ErrnoException).code;
    if (code?.startsWith('Z_') || code?.startsWith('ERR_BROTLI') || code === 'ERR__ERROR_FORMAT_PADDING_1') {
      throw new ScrapeError(ScrapeErrorCodes.DECODE, `Could not decode the ${encoding} response body (${code}).`, { cause: err });
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
      // Servers disagree on whether "deflate" has the zlib wrapper; inflate accepts the common one.
      return zlib.createInflate();
    default:
      return undefined;
  }
}
