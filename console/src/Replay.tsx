import { useEffect, useState } from 'preact/hooks';
import type { ReplayStarted } from '../../src/console/replay-types.ts';
import { startReplay } from './api.ts';
import { duration } from './format.ts';

const SPEEDS = [1, 2, 4, 10, 20];

type State =
  | { kind: 'idle' }
  | { kind: 'starting' }
  | { kind: 'replaying'; started: ReplayStarted }
  | { kind: 'replayed'; started: ReplayStarted }
  | { kind: 'refused'; message: string };

/**
 * Replays the call in the Stately inspector the server runs (INSPECT=1). Without one the button is off and the
 * command below is the way: typed where the database is, it opens an inspector of its own.
 */
export function Replay({ callSid, inspector, onError }: { callSid: string; inspector: boolean; onError: (err: unknown) => void }) {
  const [speed, setSpeed] = useState(1);
  const [state, setState] = useState<State>({ kind: 'idle' });
  const [copied, setCopied] = useState(false);
  const command = `npm run replay -- ${callSid} --inspect${speed === 1 ? '' : ` --speed ${speed}`}`;

  // The server does not say when the replay ends; its length is known, so the button comes back after it.
  useEffect(() => {
    if (state.kind !== 'replaying') return;
    const timer = setTimeout(() => setState({ kind: 'replayed', started: state.started }), state.started.durationMs);
    return () => clearTimeout(timer);
  }, [state]);

  const start = async () => {
    setState({ kind: 'starting' });
    try {
      const answer = await startReplay(callSid, speed);
      setState('inspectorUrl' in answer ? { kind: 'replaying', started: answer } : { kind: 'refused', message: answer.error });
    } catch (err) {
      setState({ kind: 'idle' });
      onError(err);
    }
  };
  const copy = async () => {
    await navigator.clipboard.writeText(command);
    setCopied(true);
  };
  const busy = state.kind === 'starting' || state.kind === 'replaying';
  return (
    <div class="replay">
      <h3>Replay in the Stately inspector</h3>
      <p>
        <button
          class="replay-start"
          onClick={start}
          disabled={busy || !inspector}
          title={inspector ? undefined : 'This server runs no Stately inspector (start it with INSPECT=1)'}
        >
          Replay in the inspector
        </button>{' '}
        <label>
          at{' '}
          <select name="speed" value={speed} onChange={(e) => setSpeed(Number(e.currentTarget.value))}>
            {SPEEDS.map((s) => (
              <option key={s} value={s}>
                {s}× real time
              </option>
            ))}
          </select>
        </label>
      </p>
      {(state.kind === 'replaying' || state.kind === 'replayed') && <Started started={state.started} running={state.kind === 'replaying'} />}
      {state.kind === 'refused' && (
        <p class="error replay-refused" role="status">
          {state.message}
        </p>
      )}
      <p class="muted replay-advice">
        {inspector ? 'Or run' : 'This server runs no inspector (start it with INSPECT=1 to replay here). Run'} this where the call database is (add{' '}
        <code>--db path</code> unless it is <code>./data/calls.db</code>): it rebuilds the call on the real machine and opens an inspector there.
      </p>
      <pre>
        <code>{command}</code>
      </pre>
      <button onClick={copy}>{copied ? 'Copied' : 'Copy'}</button>
    </div>
  );
}

function Started({ started, running }: { started: ReplayStarted; running: boolean }) {
  const port = /:(\d+)/.exec(started.inspectorUrl)?.[1];
  return (
    <p class="replay-status">
      {running ? 'Replaying…' : 'Replayed.'} {started.events} events, {duration(started.durationMs)}:{' '}
      <a href={started.inspectorUrl} target="_blank" rel="noopener">
        open the inspector
      </a>{' '}
      {port !== undefined && <span class="muted">(on the server's host; from afar: ssh -L {port}:localhost:{port} host)</span>}
    </p>
  );
}
