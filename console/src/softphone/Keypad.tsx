/**
 * The phone keypad shown during a call. Each press — a click, or 0-9 * # typed while the softphone has focus — is one
 * DTMF key press to the agent (a Twilio `dtmf` message); the key lights briefly and the keys pressed so far show above.
 */
import type { RefObject } from 'preact';
import { useEffect, useRef, useState } from 'preact/hooks';
import { isKeypadKey, KEYPAD_KEYS, type KeypadKey } from './line-protocol.js';
import './keypad.css';

const LETTERS: Partial<Record<KeypadKey, string>> = { '2': 'ABC', '3': 'DEF', '4': 'GHI', '5': 'JKL', '6': 'MNO', '7': 'PQRS', '8': 'TUV', '9': 'WXYZ' };
/** Long enough to see, short enough that a fast typist's keys each flash on their own. */
const FLASH_MS = 150;

interface Props {
  /** Sends the key; false when the call could not take it (then nothing lights). */
  onPress(key: KeypadKey): boolean;
  /** Typed keys count while focus is inside this element (the softphone), not anywhere on the page. */
  keyboardScope: RefObject<HTMLElement>;
}

export function Keypad({ onPress, keyboardScope }: Props) {
  const [typed, setTyped] = useState('');
  const [lit, setLit] = useState<KeypadKey | null>(null);
  const flash = useRef<ReturnType<typeof setTimeout> | undefined>(undefined);
  useEffect(() => () => clearTimeout(flash.current), []);

  const press = (key: KeypadKey): void => {
    if (!onPress(key)) return;
    setTyped((t) => t + key);
    setLit(key);
    clearTimeout(flash.current);
    flash.current = setTimeout(() => setLit(null), FLASH_MS);
  };
  // Read through a ref so the listener below is added once per mount, not once per render.
  const pressRef = useRef(press);
  pressRef.current = press;

  useEffect(() => {
    const scope = keyboardScope.current;
    if (!scope) return undefined;
    const onKeyDown = (e: KeyboardEvent): void => {
      if (e.repeat || e.ctrlKey || e.metaKey || e.altKey || !isKeypadKey(e.key)) return;
      e.preventDefault();
      pressRef.current(e.key);
    };
    scope.addEventListener('keydown', onKeyDown);
    return () => scope.removeEventListener('keydown', onKeyDown);
  }, [keyboardScope]);

  return (
    <div class="keypad">
      <output class="keys-typed" aria-label="Keys pressed">
        {typed}
      </output>
      <div class="keys" role="group" aria-label="Keypad">
        {KEYPAD_KEYS.map((key) => (
          <button type="button" key={key} data-key={key} class={lit === key ? 'lit' : undefined} onClick={() => press(key)}>
            {key}
            <small>{LETTERS[key] ?? '\u00a0'}</small>
          </button>
        ))}
      </div>
    </div>
  );
}
