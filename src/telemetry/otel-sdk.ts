/**
 * OpenTelemetry tracing, switched on by the standard variables only. Nothing set → this returns undefined without
 * loading the SDK (the engine itself imports `@opentelemetry/api` types only): no span is created, nothing costs.
 *
 * On when `OTEL_EXPORTER_OTLP_ENDPOINT` or `OTEL_EXPORTER_OTLP_TRACES_ENDPOINT` is set (and neither
 * `OTEL_SDK_DISABLED=true` nor `OTEL_TRACES_EXPORTER=none`). Then the SDK and the OTLP/HTTP exporter are imported
 * dynamically: `OTEL_EXPORTER_OTLP_PROTOCOL` (or `_TRACES_PROTOCOL`) `http/protobuf` (default) or `http/json`;
 * the exporter reads the endpoint and `OTEL_EXPORTER_OTLP_HEADERS`, the batch processor `OTEL_BSP_*`, the provider
 * `OTEL_TRACES_SAMPLER` / `_ARG`, the resource `OTEL_SERVICE_NAME` / `OTEL_RESOURCE_ATTRIBUTES` — each from the
 * environment, as the SDK documents them.
 */
import type { Tracer } from '@opentelemetry/api';
import type { SpanExporter } from '@opentelemetry/sdk-trace';
import { errorMessage, type Logger } from '../../lib/logger.js';

export interface Tracing {
  readonly tracer: Tracer;
  /** Export what is buffered, then stop (on shutdown: spans of the last calls are not lost). */
  shutdown(): Promise<void>;
}

export class TracingConfigError extends Error {
  override name = 'TracingConfigError';
}

const SCOPE = 'voice-call-orchestrator';
const PROTOCOLS = ['http/protobuf', 'http/json'] as const;
type Protocol = (typeof PROTOCOLS)[number];

/** Do the standard variables ask for traces? */
export function tracingRequested(env: NodeJS.ProcessEnv): boolean {
  if (env.OTEL_SDK_DISABLED?.trim().toLowerCase() === 'true') return false;
  if (env.OTEL_TRACES_EXPORTER?.trim().toLowerCase() === 'none') return false;
  return Boolean(env.OTEL_EXPORTER_OTLP_TRACES_ENDPOINT?.trim() || env.OTEL_EXPORTER_OTLP_ENDPOINT?.trim());
}

function protocolOf(env: NodeJS.ProcessEnv): Protocol {
  const name = env.OTEL_EXPORTER_OTLP_TRACES_PROTOCOL?.trim() ? 'OTEL_EXPORTER_OTLP_TRACES_PROTOCOL' : 'OTEL_EXPORTER_OTLP_PROTOCOL';
  const value = env[name]?.trim() || 'http/protobuf';
  if ((PROTOCOLS as readonly string[]).includes(value)) return value as Protocol;
  throw new TracingConfigError(`${name}=${value}: not supported (use http/protobuf or http/json)`);
}

/** Starts tracing when the environment asks for it; undefined (and no SDK loaded) otherwise. */
export async function startTracingFromEnv(env: NodeJS.ProcessEnv, log?: Logger): Promise<Tracing | undefined> {
  if (!tracingRequested(env)) return undefined;
  const protocol = protocolOf(env);
  // The endpoint from the environment given (createPhoneServer's `env` may add to the process's); the exporter reads
  // the rest (headers, timeout, compression) from the process environment itself.
  const url = env.OTEL_EXPORTER_OTLP_TRACES_ENDPOINT?.trim() || `${(env.OTEL_EXPORTER_OTLP_ENDPOINT ?? '').trim().replace(/\/+$/, '')}/v1/traces`;
  let exporter: SpanExporter;
  try {
    exporter =
      protocol === 'http/json'
        ? new (await import('@opentelemetry/exporter-trace-otlp-http')).OTLPTraceExporter({ url })
        : new (await import('@opentelemetry/exporter-trace-otlp-proto')).OTLPTraceExporter({ url });
  } catch (err) {
    throw new TracingConfigError(
      `OTEL_EXPORTER_OTLP_ENDPOINT is set but the OpenTelemetry SDK could not be loaded (${errorMessage(err)}); ` +
        'it ships as optional dependencies: reinstall without --omit=optional',
    );
  }
  const tracing = await startTracing(exporter, { batch: true, env });
  log?.info('tracing on', { protocol, url });
  return tracing;
}

/**
 * A tracer provider of its own (not registered globally: an application embedding the server keeps its own) that
 * sends every span to `exporter` — batched, or one by one (tests).
 */
export async function startTracing(exporter: SpanExporter, opts: { batch: boolean; env?: NodeJS.ProcessEnv }): Promise<Tracing> {
  const { TracerProvider, BatchSpanProcessor, SimpleSpanProcessor } = await import('@opentelemetry/sdk-trace');
  const { defaultResource, detectResources, envDetector, resourceFromAttributes } = await import('@opentelemetry/resources');
  // Our name unless OTEL_SERVICE_NAME / OTEL_RESOURCE_ATTRIBUTES give one (merge: the argument's attributes win).
  const serviceName = opts.env?.OTEL_SERVICE_NAME?.trim();
  const resource = defaultResource()
    .merge(resourceFromAttributes({ 'service.name': SCOPE }))
    .merge(detectResources({ detectors: [envDetector] }))
    .merge(serviceName ? resourceFromAttributes({ 'service.name': serviceName }) : null);
  const provider = new TracerProvider({
    resource,
    spanProcessors: [opts.batch ? new BatchSpanProcessor({ exporter }) : new SimpleSpanProcessor({ exporter })],
  });
  return {
    tracer: provider.getTracer(SCOPE),
    shutdown: () => provider.shutdown(),
  };
}
