import { DroverError, ErrorCodes, type ErrorKind, isDroverError } from '@drover/shared';
import type { FastifyError, FastifyReply, FastifyRequest } from 'fastify';

export const PROBLEM_CONTENT_TYPE = 'application/problem+json';

export interface ProblemError {
  /** JSON pointer into the request part named in `detail` (the body for body errors). */
  path: string;
  message: string;
}

/** RFC 9457 problem details as Drover sends them. */
export interface ProblemBody {
  type: string;
  title: string;
  status: number;
  detail: string;
  code: string;
  instance?: string;
  errors?: ProblemError[];
}

/** A request error together with the field-level list that goes into `errors`. */
export function problemError(kind: ErrorKind, detail: string, errors?: ProblemError[], headers?: Record<string, string>): DroverError {
  return new DroverError(kind, detail, { details: errors ? { errors } : undefined, headers });
}

const MAX_LISTED_ERRORS = 20;

const KIND_BY_CODE = new Map<string, ErrorKind>((Object.keys(ErrorCodes) as ErrorKind[]).map((k) => [ErrorCodes[k].code, k]));

/** The ErrorCodes key of a code, to re-raise an error of the same kind with a fuller detail. */
export function kindOfCode(code: string): ErrorKind {
  return KIND_BY_CODE.get(code) ?? 'INTERNAL';
}

/**
 * Turns any error that reaches Fastify's error handler into problem details. Client faults that
 * Fastify raises itself (body parsing, schema validation) keep their 4xx status and get a Drover
 * code; anything unrecognised is a 500, logged with its stack, with a detail that leaks nothing.
 */
export function toProblem(err: unknown, request: FastifyRequest): { problem: ProblemBody; headers?: Record<string, string> } {
  const instance = request.url.split('?', 1)[0];
  if (isDroverError(err)) {
    const errors = err.details?.errors as ProblemError[] | undefined;
    return { problem: body(err.code, err.title, err.status, err.message, instance, errors), headers: err.headers };
  }
  const fe = err as Partial<FastifyError> & { validation?: ValidationIssue[]; validationContext?: string };
  if (fe.validation) return { problem: validationProblem(fe.validation, fe.validationContext ?? 'body', request, instance) };
  const mapped = fe.code ? FASTIFY_CODES[fe.code] : undefined;
  if (mapped) return { problem: fromKind(mapped.kind, mapped.detail(request), instance, mapped.status) };
  const status = typeof fe.statusCode === 'number' ? fe.statusCode : 500;
  if (status >= 400 && status < 500) {
    // A client fault Fastify knows but we do not map: keep its status, never call it a 500.
    return { problem: fromKind('BAD_REQUEST', fe.message ?? 'Bad request.', instance, status) };
  }
  return { problem: fromKind('INTERNAL', 'The server failed to handle this request; it has been logged. Retry later or report it.', instance) };
}

export function sendProblem(reply: FastifyReply, problem: ProblemBody, headers?: Record<string, string>): FastifyReply {
  if (headers) reply.headers(headers);
  if (problem.status === 401) reply.header('www-authenticate', 'Bearer realm="drover"');
  // Every 503 is worth retrying (a backend outage, a replica shutting down): say when.
  if (problem.status === 503 && !reply.hasHeader('retry-after')) reply.header('retry-after', '1');
  return reply.code(problem.status).type(PROBLEM_CONTENT_TYPE).send(problem);
}

function fromKind(kind: ErrorKind, detail: string, instance: string | undefined, status?: number): ProblemBody {
  const e = ErrorCodes[kind];
  return body(e.code, e.title, status ?? e.status, detail, instance);
}

function body(code: string, title: string, status: number, detail: string, instance: string | undefined, errors?: ProblemError[]): ProblemBody {
  const p: ProblemBody = { type: `urn:drover:error:${code}`, title, status, detail, code };
  if (instance) p.instance = instance;
  if (errors && errors.length > 0) p.errors = errors;
  return p;
}

interface ValidationIssue {
  instancePath: string;
  keyword: string;
  message?: string;
  params: Record<string, unknown>;
}

const PART_NAMES: Record<string, string> = { body: 'body', querystring: 'query parameter', params: 'path parameter', headers: 'header' };

function validationProblem(issues: ValidationIssue[], context: string, request: FastifyRequest, instance: string | undefined): ProblemBody {
  const errors = issues.slice(0, MAX_LISTED_ERRORS).map(issueToError);
  if (context === 'params' && request.routeOptions.config.badParamsKind) {
    const kind = request.routeOptions.config.badParamsKind;
    return body(ErrorCodes[kind].code, ErrorCodes[kind].title, ErrorCodes[kind].status, badParamsDetail(kind), instance, errors);
  }
  const part = PART_NAMES[context] ?? context;
  const first = errors[0];
  const where = first ? (context === 'body' ? dotted(first.path) || 'body' : first.path.slice(1) || context) : context;
  const more = errors.length > 1 ? ` (and ${issues.length - 1} more problem${issues.length > 2 ? 's' : ''}, see errors)` : '';
  const detail = `Invalid ${part}: ${where} ${first?.message ?? 'is invalid'}${more}.`;
  return body(ErrorCodes.VALIDATION.code, ErrorCodes.VALIDATION.title, 400, detail, instance, errors);
}

function badParamsDetail(kind: ErrorKind): string {
  return kind === 'BAD_TASK_ID'
    ? 'Task ids are 1-128 characters of letters, digits, ".", "_" and "-"; use the id a submit returned.'
    : 'Malformed path parameter.';
}

function issueToError(issue: ValidationIssue): ProblemError {
  const p = issue.params;
  if (issue.keyword === 'additionalProperty' || issue.keyword === 'additionalProperties') {
    return { path: `${issue.instancePath}/${escapePointer(String(p.additionalProperty))}`, message: 'is not a known field' };
  }
  if (issue.keyword === 'required') {
    return { path: `${issue.instancePath}/${escapePointer(String(p.missingProperty))}`, message: 'is required' };
  }
  if (issue.keyword === 'enum' && Array.isArray(p.allowedValues)) {
    return { path: issue.instancePath, message: `must be one of ${(p.allowedValues as unknown[]).join(', ')}` };
  }
  return { path: issue.instancePath, message: issue.message ?? 'is invalid' };
}

/** `/tasks/3/input/ms` → `tasks[3].input.ms`, the form people write in code. */
export function dotted(pointer: string): string {
  let out = '';
  for (const raw of pointer.split('/').slice(1)) {
    const seg = raw.replace(/~1/g, '/').replace(/~0/g, '~');
    out += /^\d+$/.test(seg) ? `[${seg}]` : out === '' ? seg : `.${seg}`;
  }
  return out;
}

export function escapePointer(segment: string): string {
  return segment.replace(/~/g, '~0').replace(/\//g, '~1');
}

/** Client faults raised inside Fastify (parsing, routing), with details that say what to change. */
const FASTIFY_CODES: Record<string, { kind: ErrorKind; status?: number; detail: (r: FastifyRequest) => string }> = {
  FST_ERR_CTP_INVALID_JSON_BODY: { kind: 'BAD_REQUEST', detail: () => 'The body is not valid JSON.' },
  FST_ERR_CTP_EMPTY_JSON_BODY: { kind: 'BAD_REQUEST', detail: () => 'The body is empty but content-type is application/json; send a JSON document.' },
  FST_ERR_CTP_INVALID_CONTENT_LENGTH: { kind: 'BAD_REQUEST', detail: () => 'Content-Length does not match the body.' },
  FST_ERR_CTP_BODY_TOO_LARGE: {
    kind: 'PAYLOAD_TOO_LARGE',
    detail: (r) => `The body is larger than ${r.routeOptions.bodyLimit ?? r.server.initialConfig.bodyLimit} bytes (DROVER_BODY_LIMIT_BYTES); split it, e.g. into smaller batches.`,
  },
  FST_ERR_CTP_INVALID_MEDIA_TYPE: {
    kind: 'UNSUPPORTED_MEDIA_TYPE',
    detail: (r) => `Content-Type ${JSON.stringify(r.headers['content-type'] ?? '')} is not supported; send application/json.`,
  },
  FST_ERR_CTP_INVALID_TYPE: { kind: 'UNSUPPORTED_MEDIA_TYPE', detail: () => 'The Content-Type header is malformed; send application/json.' },
  FST_ERR_BAD_URL: { kind: 'BAD_REQUEST', detail: () => 'The URL is malformed (bad percent-encoding?).' },
  FST_ERR_ASYNC_CONSTRAINT: { kind: 'BAD_REQUEST', detail: () => 'The request could not be routed.' },
};

declare module 'fastify' {
  interface FastifyContextConfig {
    /** Code for a path parameter that fails its schema (e.g. BAD_TASK_ID rather than VALIDATION). */
    badParamsKind?: ErrorKind;
  }
}

/**
 * For `.catch()` on backend calls: DroverErrors (not found, idempotency conflict, bad cursor...)
 * pass through; anything else means the backend could not do its job, which is a 503 the
 * client may retry, not a 500. The cause is kept for the log.
 */
export function backendFailure(err: unknown): never {
  if (isDroverError(err)) throw err;
  throw new DroverError('BACKEND_UNAVAILABLE', 'The queue backend did not answer; retry shortly.', {
    cause: err,
    retryable: true,
    headers: { 'retry-after': '1' },
  });
}
