/** An agent module that fails its own definition (the loader must name the file and the problem). */
import { defineAgent } from 'voice-call-orchestrator';

export default defineAgent({ systemPrompt: 'x', greeting: '', transferTargets: { boss: '555' } });
