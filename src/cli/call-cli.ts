/**
 * `npm run call -- +15551234567 [--from +15557654321] [--voicemail "text" | --no-amd]`: places an outbound call with
 * Twilio's REST API. When the callee answers, Twilio fetches this server's signed `/voice` webhook and the call runs
 * the same flow as an inbound one; answering-machine detection (unless OUTBOUND_AMD=false or --no-amd) tells the
 * server who answered, and a machine gets the voicemail. Needs TWILIO_ACCOUNT_SID, TWILIO_AUTH_TOKEN, PUBLIC_URL and
 * a caller ID (TWILIO_PHONE_NUMBER or --from).
 *
 * `npm run call -- --offline ["line" …] [--url …]`: calls a running offline server with the simulated Twilio caller
 * instead (src/harness/offline-call.ts, loaded only then).
 */
import { ConfigError, loadConfig } from '../server/config.js';
import { createTwilioRestClient, isE164, placeOutboundCall } from '../twilio/twilio-rest.js';
import { errorMessage } from '../../lib/logger.js';

function fail(message: string): never {
  process.stderr.write(message + '\n');
  process.exit(1);
}

async function main(): Promise<void> {
  const argv = process.argv.slice(2);
  if (argv.includes('--offline')) {
    const { runOfflineCall } = await import('../harness/offline-call.js');
    process.exit(await runOfflineCall(argv, process.env));
  }
  const valueOf = (flag: string): string | undefined => (argv.includes(flag) ? argv[argv.indexOf(flag) + 1] : undefined);
  const from = valueOf('--from');
  const voicemail = valueOf('--voicemail');
  const to = argv.find((a, i) => !a.startsWith('--') && argv[i - 1] !== '--from' && argv[i - 1] !== '--voicemail');
  if (to === undefined || !isE164(to)) {
    fail('usage: npm run call -- +15551234567 [--from +15557654321] [--voicemail "message" | --no-amd]   (E.164 numbers)');
  }

  let config;
  try {
    config = loadConfig(process.env);
  } catch (err) {
    fail(err instanceof ConfigError ? err.message : String(err));
  }
  if (config.TWILIO_ACCOUNT_SID === undefined) fail('Invalid configuration: TWILIO_ACCOUNT_SID is required to place calls');
  if (config.TWILIO_AUTH_TOKEN === undefined) fail('Invalid configuration: TWILIO_AUTH_TOKEN is required to place calls');
  if (config.PUBLIC_URL === undefined) fail('Invalid configuration: PUBLIC_URL is required (the URL Twilio reaches this server at)');
  const caller = from ?? config.TWILIO_PHONE_NUMBER;
  if (caller === undefined) fail('Invalid configuration: TWILIO_PHONE_NUMBER (or --from) is required as the caller ID');

  const client = createTwilioRestClient(config.TWILIO_ACCOUNT_SID, config.TWILIO_AUTH_TOKEN, config.TWILIO_API_BASE_URL);
  try {
    const amd = config.OUTBOUND_AMD && !argv.includes('--no-amd');
    const call = await placeOutboundCall(client, { to, from: caller, publicUrl: config.PUBLIC_URL, amd, ...(voicemail === undefined ? {} : { voicemail }) });
    process.stdout.write(`call ${call.sid} ${call.status}: ${caller} → ${to}; it will fetch ${config.PUBLIC_URL}/voice when answered\n`);
  } catch (err) {
    fail(`could not place the call: ${errorMessage(err)}`);
  }
}

void main();
