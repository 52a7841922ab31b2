/**
 * `npm run replay -- <callSid|file.json> [options]`: rebuilds a recorded call from its event log on the real call
 * machine (stub children, replay clock), checks it reaches the same states and issues the same commands, and prints
 * the state timeline. Exit code 1 when the replay differs from the recording.
 *
 *   --db <path>          the call database (default CALL_DB_PATH or ./data/calls.db) when given a callSid; with
 *                        DATABASE_URL set (and no --db) the call is read from that PostgreSQL
 *   --inspect            stream the replay to the Stately inspector (INSPECT_PORT, default 5678), in real time
 *   --speed <N>          with --inspect: N× real time (default 1)
 *   --export <file>      write the call's event log to a file (a regression fixture) and exit
 *   --tolerance <ms>     how far a timer may fire from its recorded time (default 250)
 */
import fs from 'node:fs';
import { errorMessage, createLogger } from '../../lib/logger.js';
import { formatEventLog, parseEventLog, type EventLog } from '../records/event-log.js';
import { readPostgresEventLog } from '../records/pg-store.js';
import { openSqliteStore } from '../records/sqlite-store.js';
import { buildCallSummary } from '../records/summary.js';
import { describeEntry, timeline } from '../replay/describe.js';
import { replayCall } from '../replay/replay.js';
import { startInspector, type CallInspector } from '../server/inspector.js';

interface Args {
  target: string;
  db: string;
  /** PostgreSQL to read from (DATABASE_URL), unless --db names a file. */
  databaseUrl: string | undefined;
  inspect: boolean;
  speed: number;
  exportTo: string | undefined;
  tolerance: number;
}

function parseArgs(argv: string[]): Args {
  const databaseUrl = process.env.DATABASE_URL?.trim() || undefined;
  const args: Args = { target: '', db: process.env.CALL_DB_PATH ?? './data/calls.db', databaseUrl, inspect: false, speed: 1, exportTo: undefined, tolerance: 250 };
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i] ?? '';
    const value = (): string => {
      const v = argv[++i];
      if (v === undefined) throw new Error(`${a} needs a value`);
      return v;
    };
    if (a === '--db') {
      args.db = value();
      args.databaseUrl = undefined;
    }
    else if (a === '--inspect') args.inspect = true;
    else if (a === '--speed') args.speed = Number(value());
    else if (a === '--export') args.exportTo = value();
    else if (a === '--tolerance') args.tolerance = Number(value());
    else if (a.startsWith('--')) throw new Error(`unknown option ${a}`);
    else args.target = a;
  }
  if (args.target === '') throw new Error('usage: npm run replay -- <callSid|file.json> [--db path] [--inspect] [--speed N] [--export file] [--tolerance ms]');
  if (!(args.speed > 0)) throw new Error('--speed must be a positive number');
  return args;
}

async function loadLog(args: Args): Promise<EventLog> {
  if (args.target.endsWith('.json') || fs.existsSync(args.target)) return parseEventLog(JSON.parse(fs.readFileSync(args.target, 'utf8')));
  if (args.databaseUrl !== undefined) {
    const log = await readPostgresEventLog(args.databaseUrl, args.target);
    if (log === undefined) throw new Error(`no call ${args.target} in the database of DATABASE_URL`);
    return log;
  }
  if (!fs.existsSync(args.db)) throw new Error(`no call database at ${args.db} (set CALL_DB_PATH or --db)`);
  const store = openSqliteStore(args.db, { readonly: true });
  try {
    const log = await store.getEventLog(args.target);
    if (log === undefined) throw new Error(`no call ${args.target} in ${args.db}`);
    return log;
  } finally {
    await store.close();
  }
}

async function main(): Promise<number> {
  const args = parseArgs(process.argv.slice(2));
  const log = await loadLog(args);
  if (args.exportTo !== undefined) {
    fs.writeFileSync(args.exportTo, formatEventLog(log));
    console.log(`wrote ${log.entries.length} entries of ${log.callSid} to ${args.exportTo}`);
    return 0;
  }
  const summary = buildCallSummary(log);
  console.log(`call ${log.callSid}, recorded ${summary.startedAt}: ${log.entries.length} log entries${log.truncated ? ' (truncated)' : ''}, ` +
    `${summary.turns.length} turns, ${summary.bargeIns.length} barge-ins, ended: ${summary.endReason ?? 'no'}`);

  let inspector: CallInspector | undefined;
  if (args.inspect) {
    inspector = await startInspector({
      host: process.env.INSPECT_HOST ?? '127.0.0.1',
      port: Number(process.env.INSPECT_PORT ?? 5678),
      log: createLogger({ level: 'info', format: 'pretty' }),
    });
    console.log(`replaying at ${args.speed}× real time in 5 s: open ${inspector.url} now`);
    await sleep(5000);
  }
  const inspect = inspector?.inspect;
  const result = await replayCall(log, {
    timerToleranceMs: args.tolerance,
    inspect: inspect === undefined ? undefined : typeof inspect === 'function' ? inspect : (e) => inspect.next?.(e),
    pace: args.inspect ? (gap) => sleep(gap / args.speed) : undefined,
  });
  console.log('\nstate timeline (replay):');
  for (const line of timeline(result.replayed)) console.log(line);
  if (result.ok) {
    console.log(`\nreplay matches the recording: ${result.events} events fed, ${result.outputs} states/commands/emits compared`);
  } else {
    const d = result.divergence;
    console.log(`\nREPLAY DIFFERS from the recording at log entry #${d?.entryIndex}: ${d?.message}`);
    console.log(`  recorded: ${describeEntry(d?.expected)}\n  replayed: ${describeEntry(d?.actual)}`);
  }
  if (inspector) {
    console.log('inspector still running: Ctrl-C to exit');
    await new Promise<void>((resolve) => process.once('SIGINT', () => resolve()));
    inspector.stop();
  }
  return result.ok ? 0 : 1;
}

function sleep(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}

main().then(
  (code) => process.exit(code),
  (err: unknown) => {
    console.error(`replay: ${errorMessage(err)}`);
    process.exit(2);
  },
);
