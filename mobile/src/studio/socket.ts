/**
 * One studio websocket: authenticates with its first message, reconnects with backoff, and
 * hands every event to `onEvent`. Apps have no session cookie, so the first message is
 * `{"type": "auth", "access": <JWT>}` (host) or `{"type": "auth", "token": <invite>}` (guest).
 *
 * Close codes from the server: 4401 not authenticated, 4403 not allowed, 4404 no such
 * stream, 4410 session ended (removed / revoked): those are final, no reconnect.
 *
 * A connection that goes silent (a NAT or proxy dropping it without a close, a phone changing
 * networks) is noticed here, not left saying "open": after PING_AFTER_MS without a message the
 * socket pings (the server answers pong); a ping unanswered for PONG_WAIT_MS, or a handshake
 * not done within OPEN_TIMEOUT_MS, gives the connection up and reconnects.
 */
import type { StudioEvent } from './events';

export type SocketAuth = { access: () => Promise<string | null> } | { token: string };
export type SocketStatus = 'connecting' | 'open' | 'closed';

const FINAL_CODES = new Set([4401, 4403, 4404, 4410]);
const MAX_BACKOFF_MS = 10_000;
const PING_AFTER_MS = 5_000;
const PONG_WAIT_MS = 7_000;
const OPEN_TIMEOUT_MS = 10_000;
const WATCH_EVERY_MS = 1_000;

export interface StudioSocketOptions {
  url: string;
  auth: SocketAuth;
  onEvent: (event: StudioEvent) => void;
  onStatus?: (status: SocketStatus, code?: number) => void;
  /** For tests: the WebSocket constructor. */
  WebSocketImpl?: typeof WebSocket;
}

export class StudioSocket {
  private ws: WebSocket | null = null;
  private attempts = 0;
  private retry: ReturnType<typeof setTimeout> | null = null;
  private stopped = false;
  private watcher: ReturnType<typeof setInterval> | null = null;
  private heard = 0;
  private pinged = 0;

  constructor(private readonly options: StudioSocketOptions) {}

  start(): void {
    this.stopped = false;
    void this.open();
  }

  stop(): void {
    this.stopped = true;
    if (this.retry) {
      clearTimeout(this.retry);
      this.retry = null;
    }
    if (this.watcher) {
      clearInterval(this.watcher);
      this.watcher = null;
    }
    this.ws?.close(1000);
    this.ws = null;
  }

  send(message: Record<string, unknown>): void {
    if (this.ws?.readyState === 1) {
      this.ws.send(JSON.stringify(message));
    }
  }

  private async authMessage(): Promise<Record<string, unknown> | null> {
    const { auth } = this.options;
    if ('token' in auth) {
      return { type: 'auth', token: auth.token };
    }
    const access = await auth.access();
    return access ? { type: 'auth', access } : null;
  }

  private async open(): Promise<void> {
    const Impl = this.options.WebSocketImpl ?? WebSocket;
    this.options.onStatus?.('connecting');
    const auth = await this.authMessage();
    if (this.stopped) {
      return;
    }
    if (!auth) {
      this.options.onStatus?.('closed', 4401);
      return;
    }
    const ws = new Impl(this.options.url);
    this.ws = ws;
    this.heard = Date.now();
    this.pinged = 0;
    ws.onopen = () => {
      this.heard = Date.now();
      ws.send(JSON.stringify(auth));
    };
    ws.onmessage = (message: MessageEvent) => {
      this.heard = Date.now();
      let event: StudioEvent;
      try {
        event = JSON.parse(String(message.data)) as StudioEvent;
      } catch {
        return;
      }
      if (event.type === 'state.full') {
        this.attempts = 0;
        this.options.onStatus?.('open');
      }
      this.options.onEvent(event);
    };
    ws.onclose = (close: CloseEvent) => {
      if (this.ws !== ws) {
        return;
      }
      this.lost(close.code);
    };
    this.watch();
  }

  /** Once a second: is the connection still alive? */
  private watch(): void {
    if (this.watcher) {
      return;
    }
    this.watcher = setInterval(() => {
      const ws = this.ws;
      if (!ws || this.stopped) {
        return;
      }
      const now = Date.now();
      if (ws.readyState === 0 && now - this.heard > OPEN_TIMEOUT_MS) {
        this.lost(1006);
        return;
      }
      if (ws.readyState !== 1) {
        return;
      }
      // Only a ping left unanswered counts: the app's timers stop while it is in the background.
      const unanswered = this.pinged > this.heard;
      if (unanswered && now - this.pinged > PONG_WAIT_MS) {
        this.lost(1006);
      } else if (!unanswered && now - this.heard > PING_AFTER_MS) {
        this.pinged = now;
        ws.send(JSON.stringify({ type: 'ping' }));
      }
    }, WATCH_EVERY_MS);
  }

  /** The connection is gone (closed, or silent): say so, and try again after a backoff unless final. */
  private lost(code: number): void {
    const ws = this.ws;
    this.ws = null;
    if (ws && ws.readyState !== 3) {
      ws.close();
    }
    this.options.onStatus?.('closed', code);
    if (this.stopped || FINAL_CODES.has(code)) {
      if (this.watcher) {
        clearInterval(this.watcher);
        this.watcher = null;
      }
      return;
    }
    this.attempts += 1;
    const delay = Math.min(500 * 2 ** (this.attempts - 1), MAX_BACKOFF_MS);
    this.retry = setTimeout(() => void this.open(), delay);
  }
}
