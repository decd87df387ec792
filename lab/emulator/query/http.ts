// A Query request over HTTP: the parameters from the URL's query string and a
// form-encoded body (the body wins), read with a size limit.

import type { IncomingMessage, ServerResponse } from 'node:http';
import { ApiError } from '../errors.js';
import { parseQueryString } from './params.js';
import type { QueryParams } from './types.js';

export const MAX_BODY_BYTES = 1024 * 1024;

export class BodyTooLargeError extends ApiError {
  constructor(limit: number) {
    super('RequestEntityTooLarge', `The request body is larger than ${limit} bytes.`, 413);
  }
}

/** The request body as text; rejects with BodyTooLargeError past `limit` bytes (the rest is discarded unread). */
export function readBody(req: IncomingMessage, limit = MAX_BODY_BYTES): Promise<string> {
  if (Number(req.headers['content-length']) > limit) {
    req.resume();
    return Promise.reject(new BodyTooLargeError(limit));
  }
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    let size = 0;
    let settled = false;
    const fail = (error: ApiError) => {
      if (settled) return;
      settled = true;
      chunks.length = 0;
      reject(error);
    };
    req.on('data', (chunk: Buffer) => {
      if (settled) return;
      size += chunk.length;
      if (size > limit) fail(new BodyTooLargeError(limit));
      else chunks.push(chunk);
    });
    req.on('end', () => {
      if (settled) return;
      settled = true;
      resolve(Buffer.concat(chunks, size).toString('utf8'));
    });
    // A client that hangs up mid-body is not a server fault: no answer can reach it anyway.
    // ('close' also follows every normal 'end': only build the error when it matters.)
    const cutShort = () => settled || fail(new ApiError('IncompleteBody', 'The request body was cut short.'));
    req.on('error', cutShort);
    req.on('close', cutShort);
  });
}

/** Query-string parameters merged with body parameters (the body wins, as the SDKs put everything there). */
export function requestParams(url: string, body: string): QueryParams {
  const q = url.indexOf('?');
  const params = q < 0 ? parseQueryString('') : parseQueryString(url.slice(q + 1));
  if (body) Object.assign(params, parseQueryString(body));
  return params;
}

/** Sends an XML document (text, bytes, or bytes in pieces) with AWS's headers. */
export function sendXml(
  res: ServerResponse,
  status: number,
  requestId: string,
  xml: string | Buffer | readonly Buffer[],
  extraHeaders: Record<string, string> = {},
): void {
  if (res.headersSent || res.destroyed) return;
  // Encode once: content-length and the body come from the same bytes.
  const chunks = typeof xml === 'string' ? [Buffer.from(xml, 'utf8')] : Buffer.isBuffer(xml) ? [xml] : xml;
  res.writeHead(status, {
    'content-type': 'text/xml;charset=UTF-8',
    'content-length': chunks.reduce((n, c) => n + c.length, 0),
    'x-amzn-requestid': requestId,
    ...extraHeaders,
  });
  // Writes in one tick are corked into a single writev: no need to join the pieces first.
  for (let i = 0; i < chunks.length - 1; i++) res.write(chunks[i]);
  res.end(chunks[chunks.length - 1]);
}
