/** Scenario files for the offline world (issue: your own agent offline) and the model chosen when there is none. */
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { loadOfflineScenario } from '../../src/harness/offline-scenario.js';
import { offlineModelScript } from '../../src/harness/offline-simulators.js';
import { planReply } from '../../offline/llm-script.js';

const tmp = (name: string, text: string): string => {
  const file = path.join(fs.mkdtempSync(path.join(os.tmpdir(), 'scenario-')), name);
  fs.writeFileSync(file, text);
  return file;
};

describe('offline scenarios', () => {
  it('reads a JSON scenario: caller lines, model steps, "/regex/flags" patterns', async () => {
    const scenario = await loadOfflineScenario('test/e2e/agents/dentist-scenario.json');
    expect(scenario.caller).toEqual(['I would like an appointment on Monday', 'Thanks, goodbye']);
    const model = [...(scenario.model ?? [])];
    expect(planReply(model, { lastUserText: 'An APPOINTMENT on monday?', toolResults: [] }).toolCalls).toEqual([{ name: 'book_appointment', args: { day: 'Monday' } }]);
    expect(planReply(model, { lastUserText: 'ok goodbye', toolResults: [] }).text).toBe('Goodbye!');
  });

  it('reads a TypeScript scenario module, and a bare array as the model steps', async () => {
    const ts = tmp('s.ts', "export default { caller: ['hi'], model: [{ when: /hi/, text: 'Hello there.' }] };\n");
    expect((await loadOfflineScenario(ts)).model?.[0]?.text).toBe('Hello there.');
    const array = tmp('m.json', JSON.stringify([{ text: 'Always this.' }]));
    expect(await loadOfflineScenario(array)).toEqual({ model: [{ text: 'Always this.' }] });
  });

  it('says which file and what is wrong', async () => {
    await expect(loadOfflineScenario('nowhere.json')).rejects.toThrow(/^--script=nowhere\.json: no such file/);
    await expect(loadOfflineScenario(tmp('bad.json', '{ "model": [ { "when": 3 } ] }'), 'OFFLINE_SCRIPT')).rejects.toThrow(/^OFFLINE_SCRIPT=.*bad\.json: model\.0\.when: /);
    await expect(loadOfflineScenario(tmp('broken.json', '{'))).rejects.toThrow(/not valid JSON/);
    await expect(loadOfflineScenario(tmp('x.ts', 'export default 42;\n'))).rejects.toThrow(/the default export must be/);
  });

  it("without a script, another agent gets the generic model: never the example shop's facts", async () => {
    const generic = await offlineModelScript({ agentFile: 'test/e2e/agents/dentist-agent.ts' });
    const reply = planReply([...generic], { lastUserText: 'What are your hours?', toolResults: [], toolNames: ['book_appointment', 'end_call'] });
    expect(reply.text).toBe('You said: "What are your hours?". Not scripted; your tools: book_appointment.');
    expect(reply.toolCalls).toEqual([]);
    const example = await offlineModelScript({});
    const shop = planReply([...example], { lastUserText: 'What are your hours?', toolResults: [] });
    expect(shop.text).not.toBe(reply.text); // the example agent keeps its own script
  });
});
