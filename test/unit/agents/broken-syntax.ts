/** An agent module with a syntax error (the loader must say where: file, line, column). */
import { defineAgent } from 'voice-call-orchestrator';

export default defineAgent({
  systemPrompt: 'x',
  greeting: 'hi',
};
