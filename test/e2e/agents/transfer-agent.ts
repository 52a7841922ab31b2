/** A test agent with a transfer target, as a dentist's front-desk handoff. */
import { defineAgent } from 'voice-call-orchestrator';

export default defineAgent({
  name: 'transfer-test',
  systemPrompt: 'You answer for a dental practice. Transfer callers who ask for a person to the front desk.',
  greeting: 'Smile dental.',
  transferTargets: { 'front desk': '+15550107777' },
});
