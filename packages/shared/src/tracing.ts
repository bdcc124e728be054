import {
  type Context,
  ROOT_CONTEXT,
  type Span,
  SpanStatusCode,
  type TextMapGetter,
  type Tracer,
  context,
  defaultTextMapGetter,
  defaultTextMapSetter,
  trace,
} from '@opentelemetry/api';
import { W3CTraceContextPropagator } from '@opentelemetry/core';

export type { Span, Tracer } from '@opentelemetry/api';
export { SpanKind, SpanStatusCode, context as traceContext, trace } from '@opentelemetry/api';

/** What `loadConfig` reads of the standard OTEL_* variables. */
export interface TelemetryConfig {
  /** On when an OTLP endpoint or OTEL_TRACES_EXPORTER=otlp|console is set, off with OTEL_SDK_DISABLED=true or OTEL_TRACES_EXPORTER=none. */
  tracing: boolean;
  exporter: 'otlp' | 'console';
  /** OTEL_SERVICE_NAME, else the process's own name (drover-orchestrator, drover-worker, drover). */
  serviceName: string | undefined;
}

export interface Tracing {
  tracer: Tracer;
  /** Exports what is buffered and stops; call it before the process exits. */
  shutdown(): Promise<void>;
}

/**
 * Starts the OpenTelemetry SDK when tracing is configured, or returns undefined. The SDK is loaded
 * only then, and code that traces checks for a tracer first, so with tracing off no span, context
 * or carrier is made at all. The OTLP exporter reads its own OTEL_EXPORTER_OTLP_* settings
 * (endpoint, headers, timeout), as every OpenTelemetry SDK does.
 */
export async function startTracing(config: TelemetryConfig, defaultServiceName: string): Promise<Tracing | undefined> {
  if (!config.tracing) return undefined;
  const [{ NodeTracerProvider, BatchSpanProcessor, ConsoleSpanExporter }, { OTLPTraceExporter }, { resourceFromAttributes }] = await Promise.all([
    import('@opentelemetry/sdk-trace-node'),
    import('@opentelemetry/exporter-trace-otlp-http'),
    import('@opentelemetry/resources'),
  ]);
  const exporter = config.exporter === 'console' ? new ConsoleSpanExporter() : new OTLPTraceExporter();
  const provider = new NodeTracerProvider({
    resource: resourceFromAttributes({ 'service.name': config.serviceName ?? defaultServiceName }),
    spanProcessors: [new BatchSpanProcessor(exporter)],
  });
  // Registers the async-hooks context manager too: spans started inside a handler (the scraper's)
  // find the run's span as their parent.
  provider.register();
  return { tracer: provider.getTracer('drover'), shutdown: () => provider.shutdown() };
}

const propagator = new W3CTraceContextPropagator();

/** The W3C `traceparent` of a span, as a task record carries it to the worker that runs it. */
export function traceparentOf(span: Span): string | undefined {
  const carrier: Record<string, string> = {};
  propagator.inject(trace.setSpan(ROOT_CONTEXT, span), carrier, defaultTextMapSetter);
  return carrier['traceparent'];
}

/** A context whose remote parent is `traceparent` (a task record's, or a request header's); the root without one. */
export function contextOf(traceparent: string | undefined | null, tracestate?: string): Context {
  if (!traceparent) return ROOT_CONTEXT;
  const carrier: Record<string, string> = { traceparent };
  if (tracestate) carrier['tracestate'] = tracestate;
  return propagator.extract(ROOT_CONTEXT, carrier, defaultTextMapGetter as TextMapGetter<Record<string, string>>);
}

/**
 * Runs `fn` inside `span` (the active span for what it starts), and ends the span with an error
 * status when `fn` throws. `failed` decides which errors count as failures (a suspension does not).
 */
export async function inSpan<T>(span: Span, parent: Context, fn: () => Promise<T>, failed: (err: unknown) => boolean = () => true): Promise<T> {
  try {
    return await context.with(trace.setSpan(parent, span), fn);
  } catch (err) {
    if (failed(err)) {
      span.setStatus({ code: SpanStatusCode.ERROR, message: err instanceof Error ? err.message : String(err) });
      const code = (err as { code?: unknown } | null)?.code;
      if (typeof code === 'string') span.setAttribute('drover.error.code', code);
    }
    throw err;
  } finally {
    span.end();
  }
}

/** The attributes every span of a task carries. */
export function taskSpanAttributes(task: { id?: string; type: string; queue: string; tenant: string; attempt?: number }): Record<string, string | number> {
  const a: Record<string, string | number> = { 'drover.task.type': task.type, 'drover.queue': task.queue, 'drover.tenant': task.tenant };
  if (task.id) a['drover.task.id'] = task.id;
  if (task.attempt !== undefined) a['drover.task.attempt'] = task.attempt;
  return a;
}
