/**
 * The bare orchestrator floor: the same phone turn as the server — Twilio media stream in, Deepgram live STT, on the
 * end of the caller's turn one OpenAI streaming request, each finished sentence to Deepgram TTS (Speak + Flush), its
 * audio to the caller with a mark after each flush, barge-in (interim words while audio plays → Twilio clear, TTS
 * Clear, abort the request) — with no framework at all: raw `ws` sockets, `fetch` and a few variables per call. No
 * state machine, no SDKs, no records, no logging, no console. The bench runs it in the same run as the server and
 * reports the server's numbers as a ratio of these (`npm run bench -- --floor`).
 *
 * It speaks the same wire as the simulators expect (protocols.md) and reads the server's environment (PORT,
 * DEEPGRAM_BASE_URL, OPENAI_BASE_URL, STT_ENDPOINTING_MS…), so the bench starts it like the server.
 */
import http from 'node:http';
import { monitorEventLoopDelay } from 'node:perf_hooks';
import { WebSocket, WebSocketServer, type RawData } from 'ws';

const env = process.env;
const port = Number(env.PORT ?? 8080);
const publicUrl = env.PUBLIC_URL ?? `http://127.0.0.1:${port}`;
const deepgramUrl = (env.DEEPGRAM_BASE_URL ?? 'ws://127.0.0.1:8081').replace(/^http/, 'ws');
const openaiUrl = `${env.OPENAI_BASE_URL ?? 'http://127.0.0.1:8082/v1'}/chat/completions`;
const GREETING = 'Hello! Thanks for calling. How can I help you today?';
const SYSTEM = 'You are a helpful phone agent. Answer in one to three short spoken sentences.';

const listenQuery = new URLSearchParams({
  model: env.STT_MODEL ?? 'nova-3',
  encoding: 'mulaw',
  sample_rate: '8000',
  channels: '1',
  interim_results: 'true',
  endpointing: env.STT_ENDPOINTING_MS ?? '300',
  utterance_end_ms: '1000',
  vad_events: 'true',
  smart_format: 'true',
  no_delay: 'true',
});
const speakQuery = new URLSearchParams({ model: env.TTS_MODEL ?? 'aura-2-thalia-en', encoding: 'mulaw', sample_rate: '8000', container: 'none' });
const auth = { headers: { Authorization: `Token ${env.DEEPGRAM_API_KEY ?? 'floor'}` }, perMessageDeflate: false };

interface Message {
  role: 'system' | 'user' | 'assistant';
  content: string;
}

let activeCalls = 0;

class FloorCall {
  private streamSid = '';
  private readonly listen = new WebSocket(`${deepgramUrl}/v1/listen?${listenQuery}`, auth);
  private readonly speak = new WebSocket(`${deepgramUrl}/v1/speak?${speakQuery}`, auth);
  private readonly early: Buffer[] = [];
  private readonly history: Message[] = [{ role: 'system', content: SYSTEM }];
  private finals: string[] = [];
  private reply = '';
  private llm: AbortController | null = null;
  /** Marks sent and not yet echoed, and flushes not yet answered: audio is (or will be) playing. */
  private marksPending = 0;
  private flushesPending = 0;
  private clearing = false;
  private markSeq = 0;

  constructor(private readonly twilio: WebSocket) {
    activeCalls++;
    twilio.on('message', (data: RawData) => this.onTwilio(data.toString()));
    twilio.on('close', () => this.end());
    this.listen.on('open', () => {
      for (const chunk of this.early.splice(0)) this.listen.send(chunk);
    });
    this.listen.on('message', (data: RawData, binary: boolean) => {
      if (!binary) this.onListen(JSON.parse(data.toString()) as ListenMessage);
    });
    this.speak.on('message', (data: RawData, binary: boolean) => (binary ? this.onAudio(data as Buffer) : this.onSpeak(JSON.parse(data.toString()) as { type: string })));
    for (const ws of [this.listen, this.speak]) ws.on('error', () => undefined);
  }

  private get playing(): boolean {
    return this.marksPending > 0 || this.flushesPending > 0;
  }

  private onTwilio(text: string): void {
    const msg = JSON.parse(text) as TwilioMessage;
    if (msg.event === 'media') {
      const audio = Buffer.from(msg.media.payload, 'base64');
      if (this.listen.readyState === WebSocket.OPEN) this.listen.send(audio);
      else this.early.push(audio);
    } else if (msg.event === 'start') {
      this.streamSid = msg.start.streamSid;
      this.say(GREETING);
    } else if (msg.event === 'mark') {
      this.marksPending = Math.max(0, this.marksPending - 1);
    } else if (msg.event === 'stop') {
      this.end();
    }
  }

  private onListen(msg: ListenMessage): void {
    if (msg.type === 'UtteranceEnd') {
      if (this.finals.length > 0) this.endOfTurn();
      return;
    }
    if (msg.type !== 'Results') return;
    const text = msg.channel?.alternatives?.[0]?.transcript ?? '';
    if (text === '') return;
    if (this.playing || this.llm !== null) this.bargeIn();
    if (!msg.is_final) return;
    this.finals.push(text);
    if (msg.speech_final) this.endOfTurn();
  }

  private bargeIn(): void {
    this.llm?.abort();
    this.llm = null;
    if (this.reply !== '') this.history.push({ role: 'assistant', content: this.reply });
    this.reply = '';
    if (!this.playing) return;
    this.twilio.send(JSON.stringify({ event: 'clear', streamSid: this.streamSid }));
    this.speak.send('{"type":"Clear"}');
    this.clearing = true;
    this.marksPending = 0;
    this.flushesPending = 0;
  }

  private endOfTurn(): void {
    this.history.push({ role: 'user', content: this.finals.join(' ') });
    this.finals = [];
    void this.respond();
  }

  private async respond(): Promise<void> {
    const abort = new AbortController();
    this.llm = abort;
    let pending = '';
    try {
      const res = await fetch(openaiUrl, {
        method: 'POST',
        headers: { 'content-type': 'application/json', authorization: `Bearer ${env.OPENAI_API_KEY ?? 'floor'}` },
        body: JSON.stringify({ model: env.OPENAI_MODEL ?? 'gpt-4o-mini', stream: true, messages: this.history }),
        signal: abort.signal,
      });
      const decoder = new TextDecoder();
      let buffered = '';
      for await (const bytes of res.body as AsyncIterable<Uint8Array>) {
        buffered += decoder.decode(bytes, { stream: true });
        let nl: number;
        while ((nl = buffered.indexOf('\n')) >= 0) {
          const line = buffered.slice(0, nl).trim();
          buffered = buffered.slice(nl + 1);
          if (!line.startsWith('data: ') || line === 'data: [DONE]') continue;
          const token = (JSON.parse(line.slice(6)) as ChatChunk).choices[0]?.delta?.content ?? '';
          pending += token;
          this.reply += token;
          // A whole sentence goes to TTS at once (Deepgram bills and rate-limits flushes).
          const end = pending.search(/[.!?](\s|$)/);
          if (end >= 0 && /[.!?]\s/.test(pending)) {
            this.say(pending.slice(0, end + 1));
            pending = pending.slice(end + 1).trimStart();
          }
        }
      }
      if (pending.trim() !== '') this.say(pending.trim());
      if (this.llm === abort) {
        this.history.push({ role: 'assistant', content: this.reply });
        this.reply = '';
        this.llm = null;
      }
    } catch {
      // aborted by a barge-in, or the call ended
    }
  }

  private say(text: string): void {
    if (this.speak.readyState !== WebSocket.OPEN) {
      this.speak.once('open', () => this.say(text));
      return;
    }
    this.speak.send(JSON.stringify({ type: 'Speak', text }));
    this.speak.send('{"type":"Flush"}');
    this.flushesPending++;
  }

  private onAudio(audio: Buffer): void {
    if (this.clearing || this.twilio.readyState !== WebSocket.OPEN) return;
    this.twilio.send(JSON.stringify({ event: 'media', streamSid: this.streamSid, media: { payload: audio.toString('base64') } }));
  }

  private onSpeak(msg: { type: string }): void {
    if (msg.type === 'Cleared') this.clearing = false;
    else if (msg.type === 'Flushed' && !this.clearing && this.flushesPending > 0) {
      this.flushesPending--;
      this.marksPending++;
      this.twilio.send(JSON.stringify({ event: 'mark', streamSid: this.streamSid, mark: { name: `m${++this.markSeq}` } }));
    }
  }

  private ended = false;
  private end(): void {
    if (this.ended) return;
    this.ended = true;
    activeCalls--;
    this.llm?.abort();
    if (this.listen.readyState === WebSocket.OPEN) this.listen.send('{"type":"CloseStream"}');
    if (this.speak.readyState === WebSocket.OPEN) this.speak.send('{"type":"Close"}');
    this.listen.close();
    this.speak.close();
    if (this.twilio.readyState === WebSocket.OPEN) this.twilio.close();
  }
}

type TwilioMessage =
  | { event: 'media'; media: { payload: string } }
  | { event: 'start'; start: { streamSid: string } }
  | { event: 'mark' | 'stop' | 'connected' | 'dtmf' };
interface ListenMessage {
  type: string;
  is_final?: boolean;
  speech_final?: boolean;
  channel?: { alternatives?: Array<{ transcript?: string }> };
}
interface ChatChunk {
  choices: Array<{ delta?: { content?: string } }>;
}

export function startFloor(): void {
  const loop = monitorEventLoopDelay({ resolution: 10 });
  loop.enable();
  const server = http.createServer((req, res) => {
    if (req.url === '/healthz') return void res.end(JSON.stringify({ ok: true, activeCalls }));
    if (req.url === '/metrics') {
      // What the bench reads of the server's metrics: event-loop delay since the last scrape.
      const body = `nodejs_eventloop_lag_p99_seconds ${loop.percentile(99) / 1e9}\nnodejs_eventloop_lag_max_seconds ${loop.max / 1e9}\n`;
      loop.reset();
      return void res.end(body);
    }
    if (req.method === 'POST' && req.url?.startsWith('/voice')) {
      req.resume();
      const stream = `${publicUrl.replace(/^http/, 'ws')}/media`;
      res.setHeader('content-type', 'text/xml');
      return void res.end(`<?xml version="1.0" encoding="UTF-8"?><Response><Connect><Stream url="${stream}"/></Connect></Response>`);
    }
    res.statusCode = 404;
    res.end();
  });
  const wss = new WebSocketServer({ server, path: '/media', perMessageDeflate: false });
  wss.on('connection', (ws) => new FloorCall(ws));
  server.listen(port, env.HOST ?? '127.0.0.1');
  process.on('SIGTERM', () => process.exit(0));
}
