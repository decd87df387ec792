// Response and error documents in the two Query dialects the lab speaks:
//
//   ec2Query  <DescribeXResponse xmlns=…><requestId/>fields…</DescribeXResponse>
//             errors: <Response><Errors><Error><Code/><Message/></Error></Errors><RequestID/></Response>
//   awsQuery  <XResponse xmlns=…><XResult>fields…</XResult><ResponseMetadata><RequestId/></ResponseMetadata></XResponse>
//             errors: <ErrorResponse xmlns=…><Error><Type/><Code/><Message/></Error><RequestId/></ErrorResponse>
//
// A service's dialect follows from ServiceDefinition.wrapResult: only awsQuery
// services wrap their fields in <XResult>.

import { ApiError } from '../errors.js';
import type { ServiceDefinition, XmlValue } from './types.js';
import { escapeXml, writeFields, XmlFragment, XmlWriter } from './xml.js';

const DECLARATION = '<?xml version="1.0" encoding="UTF-8"?>\n';

/** The parts of a service that decide how its documents look. */
export type Dialect = Pick<ServiceDefinition, 'xmlns' | 'listItem' | 'wrapResult'>;

function resultFields(result: XmlValue): { [element: string]: XmlValue } | undefined {
  if (result === null || result === undefined) return undefined;
  if (typeof result !== 'object' || Array.isArray(result) || result instanceof XmlFragment)
    throw new TypeError('an action handler must return an object (or nothing)');
  return result;
}

/** The success document as UTF-8 chunks, what the server sends (cached fragments go out as they are). */
export function successDocument(dialect: Dialect, action: string, requestId: string, result: XmlValue): Buffer[] {
  const fields = resultFields(result);
  const out = new XmlWriter();
  out.text(`${DECLARATION}<${action}Response xmlns="${dialect.xmlns}">`);
  if (!dialect.wrapResult) {
    out.text(`<requestId>${escapeXml(requestId)}</requestId>`);
    if (fields) writeFields(out, fields, dialect.listItem);
  } else if (fields) {
    // awsQuery actions without output (e.g. SetDesiredCapacity) answer with the metadata alone.
    out.text(`<${action}Result>`);
    writeFields(out, fields, dialect.listItem);
    out.text(`</${action}Result>`);
  }
  if (dialect.wrapResult) out.text(`<ResponseMetadata><RequestId>${escapeXml(requestId)}</RequestId></ResponseMetadata>`);
  out.text(`</${action}Response>`);
  return out.toChunks();
}

/** The success document as text. */
export function successXml(dialect: Dialect, action: string, requestId: string, result: XmlValue): string {
  return Buffer.concat(successDocument(dialect, action, requestId, result)).toString('utf8');
}

export function errorXml(dialect: Dialect, requestId: string, error: ApiError): string {
  const code = escapeXml(error.code);
  const message = escapeXml(error.message);
  const id = escapeXml(requestId);
  if (!dialect.wrapResult)
    return `${DECLARATION}<Response><Errors><Error><Code>${code}</Code><Message>${message}</Message></Error></Errors><RequestID>${id}</RequestID></Response>`;
  const type = error.httpStatus >= 500 ? 'Receiver' : 'Sender';
  return `${DECLARATION}<ErrorResponse xmlns="${dialect.xmlns}"><Error><Type>${type}</Type><Code>${code}</Code><Message>${message}</Message></Error><RequestId>${id}</RequestId></ErrorResponse>`;
}

/** A server-side failure in the service's own words: EC2 says InternalError, awsQuery services InternalFailure. */
export function internalError(service: ServiceDefinition['name'], message = 'An internal error has occurred.'): ApiError {
  return new ApiError(service === 'ec2' ? 'InternalError' : 'InternalFailure', message, 500);
}
