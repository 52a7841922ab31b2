/**
 * The public API: `import { defineAgent, tool, createPhoneServer } from 'voice-call-orchestrator'`.
 * Testing helpers live in `voice-call-orchestrator/testing` (`simulateCall`).
 */
export { defineAgent, tool, AgentDefinitionError } from '../agent/agent.js';
export { defineFlow } from '../agent/flow.js';
export type { Flow, FlowContext, FlowDefinition, FlowEnterHook, FlowEvent, FlowGuard, FlowStepDefinition, FlowTransition, ToolFlow } from '../agent/flow.js';
export type { Agent, AgentDefinition, AgentPhrases, CallInfo, CallOverrides, Tool, ToolContext, ToolDefinition } from '../agent/agent.js';
export { createPhoneServer } from './phone-server.js';
export type { PhoneServer, PhoneServerOptions } from './phone-server.js';
export type { CallSummary } from '../records/summary-types.js';
