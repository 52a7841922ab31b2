/**
 * Tracing is switched on by the standard OTEL_* variables only, and costs nothing when they are absent: no SDK
 * module is imported outside the one loader that imports it dynamically.
 */
import fs from 'node:fs';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { startTracingFromEnv, tracingRequested, TracingConfigError } from '../../src/telemetry/otel-sdk.js';
import { captureMessageContent } from '../../src/telemetry/call-tracing.js';

const root = path.resolve(import.meta.dirname, '../..');

describe('tracing configuration', () => {
  it('is on only when an OTLP endpoint is set, and not disabled', () => {
    expect(tracingRequested({})).toBe(false);
    expect(tracingRequested({ OTEL_SERVICE_NAME: 'x', OTEL_TRACES_SAMPLER: 'always_on' })).toBe(false);
    expect(tracingRequested({ OTEL_EXPORTER_OTLP_ENDPOINT: 'http://127.0.0.1:4318' })).toBe(true);
    expect(tracingRequested({ OTEL_EXPORTER_OTLP_TRACES_ENDPOINT: 'http://127.0.0.1:4318/v1/traces' })).toBe(true);
    expect(tracingRequested({ OTEL_EXPORTER_OTLP_ENDPOINT: 'http://127.0.0.1:4318', OTEL_SDK_DISABLED: 'true' })).toBe(false);
    expect(tracingRequested({ OTEL_EXPORTER_OTLP_ENDPOINT: 'http://127.0.0.1:4318', OTEL_TRACES_EXPORTER: 'none' })).toBe(false);
  });

  it('starts nothing without the variables', async () => {
    expect(await startTracingFromEnv({})).toBeUndefined();
  });

  it('refuses a protocol it cannot speak, naming the variable', async () => {
    await expect(startTracingFromEnv({ OTEL_EXPORTER_OTLP_ENDPOINT: 'http://127.0.0.1:4317', OTEL_EXPORTER_OTLP_PROTOCOL: 'grpc' })).rejects.toThrow(
      new TracingConfigError('OTEL_EXPORTER_OTLP_PROTOCOL=grpc: not supported (use http/protobuf or http/json)'),
    );
  });

  it('captures message content only when asked', () => {
    expect(captureMessageContent({})).toBe(false);
    expect(captureMessageContent({ OTEL_INSTRUMENTATION_GENAI_CAPTURE_MESSAGE_CONTENT: 'TRUE' })).toBe(true);
    expect(captureMessageContent({ OTEL_INSTRUMENTATION_GENAI_CAPTURE_MESSAGE_CONTENT: 'false' })).toBe(false);
  });

  it('imports the SDK and exporters nowhere but dynamically, in the loader', () => {
    const offenders: string[] = [];
    for (const dir of ['machines', 'actors', 'lib', 'src', 'offline', 'agents']) {
      for (const name of fs.readdirSync(path.join(root, dir), { recursive: true, encoding: 'utf8' })) {
        if (!name.endsWith('.ts')) continue;
        const text = fs.readFileSync(path.join(root, dir, name), 'utf8');
        // A static value import of an SDK package would load it with the engine, tracing on or off.
        if (/^import\s+(?!type\b)[^;]*from\s+'@opentelemetry\/(?!api')/m.test(text)) offenders.push(`${dir}/${name}`);
      }
    }
    expect(offenders).toEqual([]);
  });
});
