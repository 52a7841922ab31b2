/**
 * `npm run record-fixtures [-- name…]`: records the replay regression fixtures in `test/replay/` from the offline
 * world — real server, real SDKs, simulated Twilio caller, Deepgram and LLM — one scripted call each, and writes
 * each call's event log as the server stored it (`GET /calls/:sid/events`). Run it when the call machine changes
 * on purpose and a fixture no longer replays; review the diff of the state timeline (`npm run replay -- file`).
 */
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { formatEventLog, parseEventLog } from '../records/event-log.js';
import type { SimulatorOptions } from '../server/providers.js';
import { startOfflineStack } from './offline-stack.js';
import { DEFAULT_AGENT, loadAgent } from '../agent/agent-loader.js';
import { placeSimulatedCall } from '../../offline/twilio-caller.js';
import type { ScriptStep } from '../../offline/twilio-caller-types.js';
import { errorMessage } from '../../lib/logger.js';
import { dentalFlowBooking, dentalFlowModel } from './dental-flow-call.js';

interface Fixture {
  name: string;
  note: string;
  simulators?: SimulatorOptions;
  env?: Record<string, string>;
  /** The agent's module (default: the bundled example, whose tools make the tool round). */
  agent?: string;
  script: ScriptStep[];
}

const STORY =
  'Once upon a time. There was a tiny office with two phones and one coffee machine. ' +
  'The team answered every call with a smile. Then the calls grew and grew. Everyone learned to be brief.';

const FIXTURES: readonly Fixture[] = [
  {
    name: 'normal-call',
    note: 'greeting, a question and its reply, goodbye: the LLM calls end_call and the agent hangs up after its reply',
    script: [{ waitForAgent: 'reply' }, { say: 'what are your opening hours' }, { waitForAgent: 'reply' }, { say: 'thanks goodbye' }, { waitForAgent: 'reply' }],
  },
  {
    name: 'barge-in',
    note: 'the caller interrupts a long reply: Twilio clear + TTS Clear, LLM stopped, the next turn answers the interruption',
    simulators: { llm: { script: [{ when: 'story', once: true, tokensPerSecond: 8, text: STORY }] } },
    script: [
      { waitForAgent: 'reply' },
      { say: 'tell me a story' },
      { bargeIn: 'stop please what time is it', afterMs: 2200 },
      { waitForAgent: 'reply' },
      { hangup: true },
    ],
  },
  {
    name: 'utterance-end-fallback',
    note: 'speech_final never comes for the utterance: UtteranceEnd ends the turn',
    simulators: { deepgram: { withholdSpeechFinal: (text) => text.includes('number') } },
    script: [{ waitForAgent: 'reply' }, { say: 'my number is four two' }, { waitForAgent: 'reply' }, { hangup: true }],
  },
  {
    name: 'llm-error',
    note: 'the LLM answers HTTP 500: the agent apologises, the caller asks again and gets a reply',
    simulators: { llm: { script: [{ when: 'weather', once: true, error: { status: 500, message: 'upstream overloaded' } }] } },
    script: [
      { waitForAgent: 'reply' },
      { say: 'what is the weather like' },
      { waitForAgent: 'reply' },
      { say: 'what is the weather like now' },
      { waitForAgent: 'reply' },
      { hangup: true },
    ],
  },
  {
    name: 'reprompt',
    note: 'the caller stays silent: the idle timer re-prompts ("Are you still there?"), then the caller answers',
    env: { IDLE_TIMEOUT_MS: '2000' },
    script: [{ waitForAgent: 'reply' }, { waitForAgent: 'reply' }, { say: 'sorry I am here' }, { waitForAgent: 'reply' }, { hangup: true }],
  },
  {
    name: 'tool-round',
    note: 'the caller asks about an order: the LLM says "Let me check that order." and calls lookup_order, the tool runner answers, the next round speaks the status',
    script: [{ waitForAgent: 'reply' }, { say: 'where is my order 4271' }, { waitForAgent: 'reply' }, { hangup: true }],
  },
  {
    name: 'flow',
    note: 'the dental-flow example: verify_patient moves the flow identify -> booking, book moves it to done (its fixed phrase said at once, the history summarised), then end_call',
    agent: 'agents/dental-flow.ts',
    simulators: {
      llm: { script: dentalFlowModel },
    },
    script: [{ waitForAgent: 'reply' }, ...dentalFlowBooking],
  },
];

const TOKEN = 'fixture-recorder-token-of-32-characters';

async function recordFixture(fixture: Fixture, outDir: string, dbDir: string): Promise<string> {
  const stack = await startOfflineStack({
    env: { ...fixture.env, CALL_RECORDS: 'on', CALL_DB_PATH: path.join(dbDir, `${fixture.name}.db`), CALLS_API_TOKEN: TOKEN },
    simulators: fixture.simulators,
    agent: await loadAgent(fixture.agent ?? DEFAULT_AGENT),
  });
  try {
    const call = await placeSimulatedCall({
      serverUrl: stack.server.localUrl,
      authToken: stack.config.twilioAuthToken,
      script: fixture.script,
      maxDurationMs: 60_000,
    }).done;
    if (call.errors.length > 0) throw new Error(`${fixture.name}: the call had errors: ${call.errors.join('; ')}`);
    const headers = { Authorization: `Bearer ${TOKEN}` };
    const url = `${stack.server.localUrl}/calls/${call.callSid}`;
    // The record is final a moment after the caller sees the line close.
    for (let i = 0; i < 100; i++) {
      const res = await fetch(url, { headers });
      if (res.ok && ((await res.json()) as { status?: string }).status === 'ended') break;
      await new Promise((r) => setTimeout(r, 50));
    }
    const log = parseEventLog(await (await fetch(`${url}/events`, { headers })).json());
    const file = path.join(outDir, `${fixture.name}.json`);
    fs.writeFileSync(file, formatEventLog({ ...log, note: fixture.note }));
    return `${file}: ${log.entries.length} entries`;
  } finally {
    await stack.close();
  }
}

async function main(): Promise<void> {
  const repo = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..', '..');
  const outDir = path.join(repo, 'test', 'replay');
  const wanted = process.argv.slice(2);
  const unknown = wanted.filter((name) => !FIXTURES.some((f) => f.name === name));
  if (unknown.length > 0) throw new Error(`unknown fixture ${unknown.join(', ')}; known: ${FIXTURES.map((f) => f.name).join(', ')}`);
  const dbDir = fs.mkdtempSync(path.join(os.tmpdir(), 'fixtures-'));
  try {
    for (const fixture of FIXTURES) {
      if (wanted.length > 0 && !wanted.includes(fixture.name)) continue;
      console.log(await recordFixture(fixture, outDir, dbDir));
    }
  } finally {
    fs.rmSync(dbDir, { recursive: true, force: true });
  }
}

main().catch((err: unknown) => {
  console.error(errorMessage(err));
  process.exit(1);
});
