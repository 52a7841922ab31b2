import type { LiveCall, LiveLatency, LiveTool } from '../../src/console/feed-types.ts';
import { Transcript } from './Transcript.tsx';
import type { FeedStatus } from './live.ts';
import { json, ms, resultText } from './format.ts';

export function LiveCalls({ calls, status }: { calls: readonly LiveCall[]; status: FeedStatus }) {
  return (
    <section class="live">
      <h2>
        Live calls <span class={`feed ${status}`}>{status === 'live' ? '● live' : status === 'lost' ? 'reconnecting…' : 'connecting…'}</span>
      </h2>
      {calls.length === 0 && <p class="muted empty">No call in progress. Calls appear here as soon as they start.</p>}
      <div class="cards">
        {calls.map((call) => (
          <LiveCallCard key={call.callSid} call={call} />
        ))}
      </div>
    </section>
  );
}

function LiveCallCard({ call }: { call: LiveCall }) {
  return (
    <article class="card live-call" data-call-sid={call.callSid}>
      <header>
        <strong>{call.from || 'unknown caller'}</strong> → {call.to || '?'}
        <span class={`state state-${call.state}`} data-state={call.state}>
          {call.state}
        </span>
      </header>
      <p class="meta">
        {call.agent ?? 'agent'} · {call.direction || 'inbound'} · <code>{call.callSid}</code>
        {call.step !== undefined && (
          <>
            {' '}
            · step{' '}
            <span class="flow-step" data-step={call.step}>
              {call.step}
            </span>
          </>
        )}
      </p>
      <Transcript lines={call.lines} />
      {call.tools.length > 0 && <Tools tools={call.tools} />}
      {call.latency !== null && <Latency latency={call.latency} />}
    </article>
  );
}

function Tools({ tools }: { tools: readonly LiveTool[] }) {
  return (
    <ul class="tools">
      {tools.map((t) => (
        <li key={t.id} class={`tool tool-${t.status}`}>
          <code class="json">
            {t.name}({json(t.args)})
          </code>{' '}
          {t.status === 'running' ? <span class="running">running…</span> : <span>→ {t.status} in {ms(t.durationMs ?? null)}</span>}
          {t.result !== undefined && t.result !== '' && <div class="result json">{resultText(t.result)}</div>}
        </li>
      ))}
    </ul>
  );
}

function Latency({ latency }: { latency: LiveLatency }) {
  return (
    <p class="latency">
      Turn {latency.turn}: <strong>{ms(latency.totalMs)}</strong> = LLM {ms(latency.llmMs)} + TTS {ms(latency.ttsMs)} + to caller{' '}
      {ms(latency.transportMs)}
      {latency.interrupted && ' (interrupted)'}
    </p>
  );
}
