/**
 * A local stand-in for the online read-aloud service (a test double for the outside world): it
 * speaks the service's WebSocket protocol and serves a voice list, and can be told how to behave
 * per connection: answer, refuse with 403, hang, or drop the connection mid-answer. It records
 * what clients sent so tests can check the wire format.
 */
import { createServer, type IncomingMessage, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { WebSocketServer } from 'ws';

export type Behaviour = 'ok' | '403' | 'hang' | 'drop' | '503' | 'garbage';

export interface Received {
  url: string;
  headers: IncomingMessage['headers'];
  frames: string[];
}

const CRLF = '\r\n';

function audioFrame(body: Uint8Array): Buffer {
  const h = Buffer.from(`X-RequestId:standin${CRLF}Content-Type:audio/mpeg${CRLF}Path:audio${CRLF}`, 'utf8');
  const len = Buffer.alloc(2);
  len.writeUInt16BE(h.length);
  return Buffer.concat([len, h, body]);
}

const unescapeXml = (s: string) =>
  s
    .replace(/&lt;/g, '<')
    .replace(/&gt;/g, '>')
    .replace(/&quot;/g, '"')
    .replace(/&apos;/g, "'")
    .replace(/&amp;/g, '&');

export class EdgeStandin {
  readonly received: Received[] = [];
  /** Behaviour of the next connections, in order; when empty, `fallbackBehaviour`. */
  queue: Behaviour[] = [];
  fallbackBehaviour: Behaviour = 'ok';
  /** Date header of 403 answers (a server clock). */
  rejectDate: Date | undefined;
  voiceListRequests = 0;
  voiceListStatus = 200;
  /** Answer the voice list only after this long (a slow or unreachable service). */
  voiceListDelayMs = 0;
  private server: Server;
  private wss = new WebSocketServer({ noServer: true });

  /** `mp3`: what every answer carries (24 kHz mono MP3); `mp3Seconds`: its length, for word offsets. */
  constructor(
    private readonly mp3: Uint8Array,
    private readonly mp3Seconds: number,
  ) {
    this.server = createServer((req, res) => {
      if (req.url?.startsWith('/voices/list')) {
        this.voiceListRequests++;
        if (this.voiceListDelayMs > 0) {
          const delay = this.voiceListDelayMs;
          setTimeout(() => {
            if (!res.destroyed) res.writeHead(200, { 'content-type': 'application/json' }).end('[]');
          }, delay).unref();
          return;
        }
        res.writeHead(this.voiceListStatus, { 'content-type': 'application/json' });
        res.end(
          JSON.stringify([
            {
              ShortName: 'en-US-StandinNeural',
              Locale: 'en-US',
              Gender: 'Female',
              FriendlyName: 'Microsoft Standin Online',
            },
            {
              ShortName: 'zh-CN-XiaoxiaoNeural',
              Locale: 'zh-CN',
              Gender: 'Female',
              FriendlyName: 'Microsoft Xiaoxiao Online',
            },
            { Name: 'not a voice' },
          ]),
        );
        return;
      }
      res.writeHead(404).end();
    });
    this.server.on('upgrade', (req, socket, head) => {
      const behaviour = this.queue.shift() ?? this.fallbackBehaviour;
      const record: Received = { url: req.url ?? '', headers: req.headers, frames: [] };
      this.received.push(record);
      if (behaviour === '403' || behaviour === '503') {
        const status = behaviour === '403' ? '403 Forbidden' : '503 Service Unavailable';
        const date = (this.rejectDate ?? new Date()).toUTCString();
        socket.end(`HTTP/1.1 ${status}${CRLF}Date: ${date}${CRLF}Content-Length: 0${CRLF}${CRLF}`);
        return;
      }
      this.wss.handleUpgrade(req, socket, head, (ws) => {
        ws.on('message', (data, isBinary) => {
          if (isBinary) return;
          const text = data.toString();
          record.frames.push(text);
          if (!text.includes('Path:ssml')) return;
          if (behaviour === 'hang') return;
          const spoken = unescapeXml(/<prosody[^>]*>([\s\S]*)<\/prosody>/.exec(text)?.[1] ?? '');
          ws.send(
            `X-RequestId:standin${CRLF}Content-Type:application/json; charset=utf-8${CRLF}Path:turn.start${CRLF}${CRLF}{}`,
          );
          const chunks: Buffer[] = [];
          const audio =
            behaviour === 'garbage' ? new Uint8Array(20_000).map((_, i) => (i * 7919) & 255) : this.mp3;
          for (let i = 0; i < audio.length; i += 4096) chunks.push(audioFrame(audio.subarray(i, i + 4096)));
          if (behaviour === 'drop') {
            ws.send(chunks[0]!);
            setTimeout(() => ws.terminate(), 20);
            return;
          }
          const words = spoken.split(/\s+/).filter(Boolean);
          const ticks = (s: number) => Math.round(s * 10_000_000);
          const per = this.mp3Seconds / Math.max(1, words.length);
          const metadata = {
            Metadata: words.map((w, i) => ({
              Type: 'WordBoundary',
              Data: {
                Offset: ticks(i * per),
                Duration: ticks(per * 0.8),
                text: { Text: w, Length: w.length, BoundaryType: 'WordBoundary' },
              },
            })),
          };
          ws.send(
            `X-RequestId:standin${CRLF}Content-Type:application/json; charset=utf-8${CRLF}Path:audio.metadata${CRLF}${CRLF}${JSON.stringify(metadata)}`,
          );
          for (const c of chunks) ws.send(c);
          ws.send(
            `X-RequestId:standin${CRLF}Content-Type:application/json; charset=utf-8${CRLF}Path:turn.end${CRLF}${CRLF}{}`,
          );
        });
      });
    });
  }

  async start(): Promise<{ wss: string; voices: string }> {
    await new Promise<void>((resolve) => this.server.listen(0, '127.0.0.1', resolve));
    const { port } = this.server.address() as AddressInfo;
    return { wss: `ws://127.0.0.1:${port}/edge/v1`, voices: `http://127.0.0.1:${port}/voices/list` };
  }

  async stop(): Promise<void> {
    for (const c of this.wss.clients) c.terminate();
    this.server.closeAllConnections();
    await new Promise<void>((resolve) => this.server.close(() => resolve()));
  }

  /** The SSML of the last request. */
  lastSsml(): string | undefined {
    const frames = this.received.at(-1)?.frames ?? [];
    return frames.find((f) => f.includes('Path:ssml'));
  }
}
