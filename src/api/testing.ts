/**
 * `voice-call-orchestrator/testing`: `simulateCall` (one call of your agent offline, through the real stack) and
 * `walkFlow` (every transition of your agent's flow, through simulateCall).
 */
export * from './simulate-call.js';
export { takenTransitions, walkFlow } from './flow-testing.js';
export type { FlowTransitionScript, WalkedFlow, WalkFlowOptions } from './flow-testing.js';
