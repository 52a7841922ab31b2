/** "Talk to your agent": Dial / Hang up, a keypad during the call, the call's state and a live microphone level meter. */
import { useEffect, useRef, useState } from 'preact/hooks';
import { dial, type CallState, type SoftphoneCall } from './softphone-call.js';
import { Keypad } from './Keypad.tsx';
import { newProbe, publishProbe } from './softphone-probe.js';
import './softphone.css';

type State = 'idle' | CallState;

const LABELS: Record<State, string> = {
  idle: 'Ready',
  connecting: 'Connecting…',
  'in-call': 'In call — speak now',
  ended: 'Call ended',
  failed: 'Call failed',
};

/** RMS 0 … 1 → 0 … 1 on a -60 … 0 dBFS scale (speech sits around the middle). */
function meterValue(rms: number): number {
  if (rms <= 0) return 0;
  return Math.max(0, Math.min(1, 1 + (20 * Math.log10(rms)) / 60));
}

export function Softphone() {
  const [state, setState] = useState<State>('idle');
  const [detail, setDetail] = useState('');
  const [level, setLevel] = useState(0);
  const call = useRef<SoftphoneCall | null>(null);
  const section = useRef<HTMLElement>(null);
  useEffect(() => () => call.current?.hangup(), []);

  const busy = state === 'connecting' || state === 'in-call';
  const onClick = async () => {
    if (busy) {
      call.current?.hangup();
      return;
    }
    setDetail('');
    const probe = newProbe();
    publishProbe(probe);
    try {
      call.current = await dial(
        {
          onState: (s, d) => {
            setState(s);
            if (d !== undefined) setDetail(d);
            if (s === 'ended' || s === 'failed') {
              call.current = null;
              setLevel(0);
            }
          },
          // 50 updates a second would re-render for nothing: only visible changes.
          onLevel: (rms) => setLevel((old) => (Math.abs(meterValue(rms) - old) >= 0.02 ? meterValue(rms) : old)),
        },
        probe,
      );
    } catch (err) {
      setState('failed');
      setDetail(err instanceof Error ? err.message : String(err));
    }
  };

  return (
    <section class="softphone" data-state={state} ref={section}>
      <h2>Talk to your agent</h2>
      <p class="muted">Your microphone, straight to the agent — no phone number needed.</p>
      <button class={busy ? 'dial hangup' : 'dial'} onClick={onClick} disabled={state === 'connecting'}>
        {busy ? 'Hang up' : 'Dial'}
      </button>
      {state === 'in-call' && <Keypad onPress={(key) => call.current?.pressKey(key) ?? false} keyboardScope={section} />}
      <meter class="level" min={0} max={1} low={0.5} high={0.9} optimum={0.6} value={level} aria-label="Microphone level" />
      <p class="call-state">
        {LABELS[state]}
        {detail && <span class="detail"> — {detail}</span>}
      </p>
    </section>
  );
}
