#!/usr/bin/env node
/**
 * The package's command, `voice-call-orchestrator <command> [flags]` (npx, an npm script, or node_modules/.bin).
 * Each command is one of the entry points `npm start` / `npm run demo|call|replay|sim` run in this repository: the
 * command word is taken off argv and the entry point is imported, so it reads the rest of argv exactly as it does
 * when started on its own. `start --agent path` is the same as `AGENT=path`.
 */
import fs from 'node:fs';

const HELP = `voice-call-orchestrator — phone-call voice agents (Twilio + Deepgram + OpenAI/Anthropic)

usage: voice-call-orchestrator <command> [flags]

commands:
  start [--agent ./agent.ts] [--inspect]
        run the server (PORT, default 8080) with your agent — a .ts or .js module whose default export is
        defineAgent({...}); without --agent (or AGENT) the bundled front-desk example. With no provider key it runs
        offline on the built-in simulators. Configuration is the environment (see the README).
  demo [--agent ./agent.ts] [--anthropic] [--flux] [--console] [--verbose] [--inspect]
        one simulated phone call through the real server, fully offline, printing both sides
  call +15551234567 [--from +1555…] [--voicemail "text" | --no-amd]
        place a real outbound call through Twilio
  call --offline ["line" …] [--url http://127.0.0.1:8080]
        call a running offline server with the simulated Twilio caller, saying each line
  replay <callSid|call.json> [--db path] [--inspect] [--speed N] [--export file.json] [--tolerance ms]
        replay a recorded call on the real call machine and check it goes the same way
  sim   start the Deepgram and LLM simulators as standalone servers

  --help, -h       this text
  --version, -v    the package version
`;

/** Entry points, relative to this file (they sit beside it in src/cli and in dist/src/cli). */
const COMMANDS: Readonly<Record<string, string>> = {
  start: './main.js',
  demo: './demo.js',
  call: './call-cli.js',
  replay: './replay-cli.js',
  sim: './sim-cli.js',
};

function version(): string {
  // src/cli → the root; dist/src/cli → the root.
  const file = new URL(import.meta.url.endsWith('.ts') ? '../../package.json' : '../../../package.json', import.meta.url);
  const pkg: unknown = JSON.parse(fs.readFileSync(file, 'utf8'));
  return typeof pkg === 'object' && pkg !== null && 'version' in pkg ? String(pkg.version) : 'unknown';
}

/** `--agent path` → AGENT=path, removed from argv (the server reads its agent from the environment). */
function takeAgentFlag(args: string[]): string[] {
  const at = args.indexOf('--agent');
  if (at < 0) return args;
  const file = args[at + 1];
  if (file === undefined || file.startsWith('--')) {
    process.stderr.write('voice-call-orchestrator start: --agent needs a path (e.g. --agent ./agent.ts)\n');
    process.exit(2);
  }
  process.env.AGENT = file;
  return [...args.slice(0, at), ...args.slice(at + 2)];
}

async function run(argv: readonly string[]): Promise<void> {
  const [command, ...rest] = argv;
  if (command === undefined || command === '--help' || command === '-h' || command === 'help') {
    process.stdout.write(HELP);
    return;
  }
  if (command === '--version' || command === '-v') {
    process.stdout.write(version() + '\n');
    return;
  }
  const entry = COMMANDS[command];
  if (entry === undefined) {
    process.stderr.write(`voice-call-orchestrator: unknown command "${command}"\n\n${HELP}`);
    process.exit(2);
  }
  if (rest.includes('--help') || rest.includes('-h')) {
    process.stdout.write(HELP);
    return;
  }
  const args = command === 'start' ? takeAgentFlag(rest) : rest;
  // The entry point reads process.argv.slice(2) as its flags.
  process.argv = [process.argv[0] ?? 'node', entry, ...args];
  await import(entry); // from the sources, tsx maps ./main.js to ./main.ts
}

await run(process.argv.slice(2));
