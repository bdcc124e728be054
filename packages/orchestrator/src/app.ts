import { STATUS_CODES } from 'node:http';
import type { Socket } from 'node:net';
import { randomBytes } from 'node:crypto';
import { ErrorCodes, LeaderElection, Registry, TaskRecord, createLogger, createQueueMetrics, createTaskMetrics } from '@drover/shared';
import { Ajv, type ValidateFunction } from 'ajv';
import Fastify, { type FastifyBaseLogger, type FastifyError, type FastifyInstance, type FastifyReply, type FastifyRequest, LogController } from 'fastify';
import { Gauge, collectDefaultMetrics } from 'prom-client';
import { Admission } from './admission.js';
import { Problem, TaskTreeNodeSchema } from './api-schemas.js';
import type { BuildAppOptions } from './app-options.js';
import { Authenticator, authPlugin } from './auth.js';
import { docsPlugin } from './docs.js';
import { type DroverContext, droverContextPlugin } from './drover-context.js';
import { httpMetricsPlugin } from './http-metrics.js';
import { jsonDepth } from './json-depth.js';
import { PROBLEM_CONTENT_TYPE, problemError, sendProblem, toProblem } from './problem.js';
import { QueueSignalCache } from './queue-signal-cache.js';
import { RouteMethods } from './route-methods.js';
import { healthRoutes } from './routes/health.js';
import { metricsRoutes } from './routes/metrics.js';
import { queueRoutes } from './routes/queues.js';
import { taskTypeRoutes } from './routes/task-types.js';
import { taskGraphRoutes } from './routes/task-graph.js';
import { taskRoutes } from './routes/tasks.js';
import { workerRoutes } from './routes/workers.js';
import { Submissions } from './submission.js';
import { TaskCatalog } from './task-catalog.js';
import { TaskWaiter } from './task-waiter.js';
import { EventLog } from './event-log.js';
import { eventRoutes } from './routes/events.js';
import { deadLetterRoutes } from './routes/dead-letters.js';
import { scheduleRoutes } from './routes/schedules.js';
import { Scheduler, missedGapMs } from './scheduler.js';
import { TenantRate } from './tenant-rate.js';
import { fireSchedule } from './routes/schedules.js';
import { uiRoutes } from './routes/ui.js';

export type { BuildAppOptions } from './app-options.js';

/**
 * The orchestrator's HTTP API as a Fastify instance, not listening: main.ts listens and handles
 * signals, tests use inject() or a port of their own. Call close() to release its subscriptions
 * (the backend stays open: it belongs to the caller).
 */
export async function buildApp(options: BuildAppOptions): Promise<FastifyInstance> {
  const { config, backend } = options;
  const logger =
    options.logger ?? createLogger({ service: 'orchestrator', instance: config.instance, region: config.region, level: config.logLevel });
  const registry = options.registry ?? withProcessMetrics(new Registry(), config.region);

  const catalog = new TaskCatalog({ backend, logger });
  // Unique even when replicas share a host name (DROVER_INSTANCE's default).
  const leaderId = `${config.instance}:${process.pid}:${randomBytes(4).toString('hex')}`;
  const leader = new LeaderElection({ store: backend.leaderLease, id: leaderId, leaseMs: config.http.leaderLeaseMs, logger });
  const context: DroverContext = {
    config,
    backend,
    auth: new Authenticator(config.http),
    catalog,
    submissions: new Submissions(config, catalog),
    admission: new Admission({ backend, maxBacklog: config.http.maxBacklog, logger }),
    tenantRate: new TenantRate(backend.rateWindows, config.http.tenantSubmitRate),
    waiter: new TaskWaiter(backend),
    events: new EventLog({ retentionMs: config.http.eventRetentionSeconds * 1000, maxEvents: config.http.eventLogMaxEvents }),
    registry,
    taskMetrics: createTaskMetrics(registry),
    queueMetrics: createQueueMetrics(registry),
    queueSignals: new QueueSignalCache(backend, config.queues, config.http.metricsCacheMs),
    queues: new Set(config.queues),
    draining: false,
    leader,
    tracer: options.tracer,
    // Set just below: it submits through the context's own collaborators.
    scheduler: undefined as unknown as Scheduler,
  };
  (context as { scheduler: Scheduler }).scheduler = new Scheduler({
    store: backend.schedules,
    fire: (s, tick) => fireSchedule(context, s, tick),
    logger,
    fence: () => (leader.fencingToken === null ? null : { id: leaderId, token: leader.fencingToken }),
    missedGapMs: missedGapMs(config.http.leaderLeaseMs),
  });
  new Gauge({
    name: 'drover_leader',
    help: 'Whether this orchestrator holds the leader lease and runs the cluster-wide duties (schedule firing): 1 on exactly one replica, 0 on the others',
    registers: [registry],
    collect() {
      this.set(leader.isLeader ? 1 : 0);
    },
  });

  const perRequestLogs = logger.isLevelEnabled('debug');
  const app = Fastify({
    loggerInstance: logger,
    // One "incoming request" and one "request completed" line per request only at debug/trace:
    // at info they cost more CPU than handling the request itself. Failed requests (5xx) are
    // logged by the error handler at every level.
    logController: new LogController({ disableRequestLogging: !perRequestLogs }),
    // Below debug, requests share the app's logger (a pino child per request costs about 1 µs);
    // the error handler names the request id itself.
    ...(perRequestLogs ? {} : { childLoggerFactory: (parent: FastifyBaseLogger) => parent }),
    bodyLimit: config.http.bodyLimitBytes,
    // Keep serving while closing (the backend is still up); /readyz already says we are leaving.
    return503OnClosing: false,
    routerOptions: { maxParamLength: 256 },
    clientErrorHandler,
    // Malformed URLs (bad percent-encoding) are answered before routing, outside the error handler.
    frameworkErrors: (err, request, reply) => {
      const { problem, headers } = toProblem(err, request);
      sendProblem(reply, problem, headers);
    },
  }) as unknown as FastifyInstance;

  configureValidation(app);
  configureBodyParsing(app, config.http.jsonMaxDepth);
  app.addSchema(TaskRecord);
  app.addSchema(Problem);
  app.addSchema(TaskTreeNodeSchema);

  app.setErrorHandler((err: FastifyError, request, reply) => {
    const { problem, headers } = toProblem(err, request);
    if (problem.status >= 500) request.log.error({ err, reqId: request.id }, 'request failed');
    else request.log.debug({ code: problem.code, detail: problem.detail }, 'request refused');
    return sendProblem(reply, problem, headers);
  });
  const routeMethods = new RouteMethods();
  app.addHook('onRoute', (route) => routeMethods.add(route.url, route.method));
  app.setNotFoundHandler((request, reply) => {
    const path = request.url.split('?', 1)[0] ?? '';
    const allowed = routeMethods.allowed(path);
    const e = allowed.length > 0 ? ErrorCodes.METHOD_NOT_ALLOWED : ErrorCodes.ROUTE_NOT_FOUND;
    if (allowed.length > 0) reply.header('allow', allowed.join(', '));
    return sendProblem(reply, {
      type: `urn:drover:error:${e.code}`,
      title: e.title,
      status: e.status,
      code: e.code,
      detail:
        allowed.length > 0
          ? `${path} does not answer ${request.method}; it answers ${allowed.join(', ')}.`
          : `No route ${request.method} ${path}; the API is under /v1 (see /docs for the list).`,
      ...(path ? { instance: path } : {}),
    });
  });

  // Security headers on every answer, the set @fastify/helmet sends by default, written from one
  // frozen object: helmet builds them per request, which cost 30-90 us of CPU per submit on
  // bench/http-submit.ts (more than the rest of the orchestrator's own work). The API serves JSON
  // only, so its CSP allows nothing; the Swagger UI at /docs sends its own (staticCSP, docs.ts).
  app.addHook('onRequest', securityHeaders);
  await app.register(droverContextPlugin, { context });
  await app.register(httpMetricsPlugin, { registry });
  if (config.http.docs) await app.register(docsPlugin);
  await app.register(healthRoutes);
  // With DROVER_METRICS_PORT the metrics live on their own port (buildOpsApp), off the API's.
  if (config.http.metricsPort === undefined) await app.register(metricsRoutes);
  await app.register(uiRoutes, { dir: options.dashboardDir });
  await app.register(
    async (v1) => {
      await v1.register(authPlugin, {
        auth: context.auth,
        ...(config.http.apiRatePerMinute > 0 ? { rate: { store: backend.rateWindows, perMinute: config.http.apiRatePerMinute } } : {}),
      });
      await v1.register(taskRoutes);
      await v1.register(taskGraphRoutes(options.graph));
      await v1.register(eventRoutes);
      await v1.register(deadLetterRoutes);
      await v1.register(scheduleRoutes);
      await v1.register(queueRoutes);
      await v1.register(workerRoutes);
      await v1.register(taskTypeRoutes);
    },
    { prefix: '/v1' },
  );
  return app;
}

/**
 * The operations port (DROVER_METRICS_PORT): /metrics, /healthz and /readyz of `app`, on their own
 * listener, so a network policy can open them to Prometheus and the kubelet and nothing else. Not
 * listening: the caller listens and closes it.
 */
export async function buildOpsApp(app: FastifyInstance): Promise<FastifyInstance> {
  const ops = Fastify({ loggerInstance: app.log as FastifyBaseLogger, logController: new LogController({ disableRequestLogging: true }) }) as unknown as FastifyInstance;
  ops.decorate('drover', app.drover);
  ops.addSchema(Problem);
  ops.setErrorHandler((err: FastifyError, request, reply) => {
    const { problem, headers } = toProblem(err, request);
    return sendProblem(reply, problem, headers);
  });
  ops.addHook('onRequest', securityHeaders);
  await ops.register(healthRoutes);
  await ops.register(metricsRoutes);
  return ops;
}

/** What every answer carries (helmet's defaults, with a CSP for an API that serves no content). */
const SECURITY_HEADERS = Object.freeze({
  'content-security-policy': "default-src 'none';frame-ancestors 'none'",
  'cross-origin-opener-policy': 'same-origin',
  'cross-origin-resource-policy': 'same-origin',
  'origin-agent-cluster': '?1',
  'referrer-policy': 'no-referrer',
  'strict-transport-security': 'max-age=31536000; includeSubDomains',
  'x-content-type-options': 'nosniff',
  'x-dns-prefetch-control': 'off',
  'x-download-options': 'noopen',
  'x-frame-options': 'SAMEORIGIN',
  'x-permitted-cross-domain-policies': 'none',
  'x-xss-protection': '0',
});

function securityHeaders(_request: FastifyRequest, reply: FastifyReply, done: () => void): void {
  reply.headers(SECURITY_HEADERS);
  done();
}

/**
 * Request schemas are checked by Ajv with two settings: bodies exactly as sent (no type coercion,
 * unknown fields refused rather than stripped), and query strings, path parameters and headers —
 * which are always text — coerced to the schema's types.
 */
function configureValidation(app: FastifyInstance): void {
  const common = { allErrors: true, useDefaults: false, removeAdditional: false, strict: false } as const;
  const bodyAjv = new Ajv({ ...common, coerceTypes: false });
  const textAjv = new Ajv({ ...common, coerceTypes: true });
  app.setValidatorCompiler(({ schema, httpPart }) => {
    if (httpPart === 'body') return bodyAjv.compile(schema);
    const validate = textAjv.compile(schema);
    return httpPart === 'querystring' ? plainIntegers(schema, validate) : validate;
  });
  // Plain JSON.stringify: fast enough for task records, and a record a backend returns with an
  // unexpected shape is still sent rather than failing serialization with a 500.
  app.setSerializerCompiler(() => (data) => JSON.stringify(data));
}

/**
 * JSON only (anything else is 415), in UTF-8 only (RFC 8259: a charset parameter other than
 * utf-8 is 415 rather than text read the wrong way), nested at most `maxDepth` levels (checked on
 * the text, before parsing). An empty JSON body counts as no body, as curl -X POST sends.
 */
function configureBodyParsing(app: FastifyInstance, maxDepth: number): void {
  const json = app.getDefaultJsonParser('error', 'error');
  app.removeAllContentTypeParsers();
  app.addContentTypeParser('application/json', { parseAs: 'string' }, (request, body, done) => {
    const charset = charsetOf(request.headers['content-type']);
    if (charset !== undefined && charset !== 'utf-8' && charset !== 'utf8') {
      done(
        problemError('UNSUPPORTED_MEDIA_TYPE', `The body's charset is ${JSON.stringify(charset)}; JSON must be sent as UTF-8 (content-type: application/json or application/json; charset=utf-8).`),
        undefined,
      );
      return;
    }
    const text = body as string;
    if (text === '') return done(null, undefined);
    const depth = jsonDepth(text, maxDepth);
    if (depth > maxDepth) {
      done(
        problemError(
          'JSON_TOO_DEEP',
          `The body nests arrays and objects more than ${maxDepth} levels deep (DROVER_JSON_MAX_DEPTH, counting the body itself); flatten the task input.`,
        ),
        undefined,
      );
      return;
    }
    json(request, text, done);
  });
}

/** The charset parameter of a media type, lower-cased and unquoted, or undefined when there is none. */
function charsetOf(contentType: string | undefined): string | undefined {
  if (!contentType) return undefined;
  for (const param of contentType.split(';').slice(1)) {
    const eq = param.indexOf('=');
    if (eq < 0 || param.slice(0, eq).trim().toLowerCase() !== 'charset') continue;
    return param
      .slice(eq + 1)
      .trim()
      .replace(/^"(.*)"$/, '$1')
      .toLowerCase();
  }
  return undefined;
}

/** Digits only, without a sign or leading zeros, at most 15 of them (a safe integer). */
const PLAIN_INTEGER = /^(0|[1-9][0-9]{0,14})$/;

/**
 * Ajv's coercion reads a query value as JavaScript's Number() does, so `Infinity`, `1e20` and
 * `0x10` would pass as integers. Integer query parameters take plain decimal digits, once.
 */
function plainIntegers(schema: unknown, validate: ValidateFunction): ValidateFunction {
  const properties = (schema as { properties?: Record<string, { type?: unknown }> }).properties ?? {};
  const names = Object.keys(properties).filter((k) => properties[k]?.type === 'integer');
  if (names.length === 0) return validate;
  const check = ((data: Record<string, unknown> | null | undefined) => {
    for (const name of names) {
      const value = data?.[name];
      if (value === undefined || (typeof value === 'string' && PLAIN_INTEGER.test(value))) continue;
      const message = Array.isArray(value) ? 'must be given once' : 'must be a plain non-negative integer (decimal digits only)';
      check.errors = [{ instancePath: `/${name}`, schemaPath: '#/plainInteger', keyword: 'plainInteger', params: {}, message }];
      return false;
    }
    const ok = validate(data);
    check.errors = validate.errors;
    return ok;
  }) as ValidateFunction;
  return check;
}

/** Every series carries the region (DROVER_REGION), as every log line does. */
function withProcessMetrics(registry: Registry, region: string): Registry {
  registry.setDefaultLabels({ region });
  collectDefaultMetrics({ register: registry });
  return registry;
}

/** Requests Node cannot even parse still get a problem document, not Fastify's plain JSON. */
function clientErrorHandler(err: NodeJS.ErrnoException, socket: Socket): void {
  if (err.code === 'ECONNRESET' || socket.destroyed) return;
  const status = err.code === 'HPE_HEADER_OVERFLOW' ? 431 : err.code === 'ERR_HTTP_REQUEST_TIMEOUT' ? 408 : 400;
  const e = ErrorCodes.BAD_REQUEST;
  const body = JSON.stringify({
    type: `urn:drover:error:${e.code}`,
    title: e.title,
    status,
    detail: status === 431 ? 'The request headers are too large.' : 'The HTTP request is malformed.',
    code: e.code,
  });
  if (!socket.writable) {
    socket.destroy(err);
    return;
  }
  socket.end(
    `HTTP/1.1 ${status} ${STATUS_CODES[status]}\r\nContent-Type: ${PROBLEM_CONTENT_TYPE}\r\nContent-Length: ${Buffer.byteLength(body)}\r\nConnection: close\r\n\r\n${body}`,
  );
}
