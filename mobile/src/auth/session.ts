/**
 * The signed-in host: the API's bearer mode (`X-Auth-Mode: bearer`).
 *
 * - Sign in posts email + password; the access and refresh tokens come back in the body.
 * - The refresh token and the server address are kept in secure storage; the access token
 *   only in memory.
 * - The access token is refreshed a minute before it expires (a timer), and again on demand
 *   when a request finds it stale. Refresh tokens rotate: each works once.
 * - When a refresh fails (revoked, expired, reused), the session is signed out cleanly:
 *   storage is cleared and every subscriber hears it, so the app returns to sign-in.
 */
import createClient from 'openapi-fetch';

import { ApiError, errorMessage } from '@/api/errors';
import type { components, paths } from '@/api/schema';
import { normaliseServerUrl } from '@/config';

import { needsRefresh, refreshDelay } from './tokens';
import { deleteItem, readItem, writeItem } from './storage';

export type User = components['schemas']['UserOutput'];

export type SessionState =
  | { status: 'restoring' }
  | { status: 'signed-out'; reason?: string }
  | { status: 'signed-in'; server: string; user: User };

const KEY_REFRESH = 'streamus.refresh';
const KEY_SERVER = 'streamus.server';
const BEARER = { 'X-Auth-Mode': 'bearer' } as const;

type Listener = (state: SessionState) => void;

export class AuthSession {
  private state: SessionState = { status: 'restoring' };
  private access: string | null = null;
  private refreshToken: string | null = null;
  private server = '';
  private timer: ReturnType<typeof setTimeout> | null = null;
  private inflight: Promise<boolean> | null = null;
  private listeners = new Set<Listener>();
  private disposed = false;

  constructor(private readonly now: () => number = Date.now) {}

  getState(): SessionState {
    return this.state;
  }

  subscribe(listener: Listener): () => void {
    this.listeners.add(listener);
    return () => this.listeners.delete(listener);
  }

  /** The server this session talks to ('' when signed out). */
  serverUrl(): string {
    return this.server;
  }

  /** A stored refresh token from an earlier launch signs in again without a password. */
  async restore(): Promise<void> {
    const [refresh, server] = await Promise.all([readItem(KEY_REFRESH), readItem(KEY_SERVER)]);
    if (!refresh || !server) {
      this.server = server ?? '';
      this.setState({ status: 'signed-out' });
      return;
    }
    this.server = server;
    this.refreshToken = refresh;
    await this.refresh();
  }

  /** The last server used, for the sign-in form. */
  async lastServer(): Promise<string> {
    return (await readItem(KEY_SERVER)) ?? '';
  }

  async signIn(serverInput: string, email: string, password: string): Promise<void> {
    const server = normaliseServerUrl(serverInput);
    if (!server) {
      throw new ApiError('Enter the address of your StreamUs server.', 400);
    }
    const client = createClient<paths>({ baseUrl: server });
    const { data, error, response } = await client.POST('/api/v1/auth/login', {
      body: { email: email.trim(), password },
      headers: BEARER,
    });
    if (!response.ok || !data?.access || !data.refresh) {
      throw new ApiError(errorMessage(error, response.status), response.status);
    }
    this.server = server;
    await writeItem(KEY_SERVER, server);
    await this.accept(data.access, data.refresh, data.user);
  }

  /** Trade the refresh token for a new pair; false (and signed out) when the server refuses it. */
  refresh(): Promise<boolean> {
    if (!this.inflight) {
      this.inflight = this.doRefresh().finally(() => {
        this.inflight = null;
      });
    }
    return this.inflight;
  }

  private async doRefresh(): Promise<boolean> {
    const refresh = this.refreshToken;
    if (!refresh || !this.server) {
      await this.clear('Your session ended. Please sign in again.');
      return false;
    }
    const client = createClient<paths>({ baseUrl: this.server });
    let result;
    try {
      result = await client.POST('/api/v1/auth/refresh', { body: { refresh }, headers: BEARER });
    } catch {
      // Offline: keep the session, try again shortly (the access token may still be valid).
      this.schedule(30_000);
      return this.access !== null && !needsRefresh(this.access, this.now());
    }
    const { data, response } = result;
    if (!response.ok || !data?.access || !data.refresh) {
      await this.clear('Your session ended. Please sign in again.');
      return false;
    }
    await this.accept(data.access, data.refresh, data.user);
    return true;
  }

  /** A valid access token, refreshed first if it is about to expire; null when signed out. */
  async accessToken(): Promise<string | null> {
    if (this.state.status !== 'signed-in' && this.state.status !== 'restoring') {
      return null;
    }
    if (!this.access || needsRefresh(this.access, this.now())) {
      const ok = await this.refresh();
      if (!ok) {
        return null;
      }
    }
    return this.access;
  }

  async signOut(): Promise<void> {
    const refresh = this.refreshToken;
    if (refresh && this.server) {
      const client = createClient<paths>({ baseUrl: this.server });
      // Blacklist the refresh token on the server; signing out locally must not wait on the network.
      client.POST('/api/v1/auth/logout', { body: { refresh }, headers: BEARER }).catch(() => undefined);
    }
    await this.clear();
  }

  private async accept(access: string, refresh: string, user: User): Promise<void> {
    this.access = access;
    this.refreshToken = refresh;
    await writeItem(KEY_REFRESH, refresh);
    this.schedule(refreshDelay(access, this.now()));
    this.setState({ status: 'signed-in', server: this.server, user });
  }

  private schedule(delay: number): void {
    if (this.disposed) {
      return;
    }
    if (this.timer) {
      clearTimeout(this.timer);
    }
    this.timer = setTimeout(() => {
      this.timer = null;
      void this.refresh();
    }, delay);
  }

  private async clear(reason?: string): Promise<void> {
    if (this.timer) {
      clearTimeout(this.timer);
      this.timer = null;
    }
    this.access = null;
    this.refreshToken = null;
    await deleteItem(KEY_REFRESH);
    this.setState({ status: 'signed-out', reason });
  }

  /** Stop timers (tests, app teardown). */
  dispose(): void {
    this.disposed = true;
    if (this.timer) {
      clearTimeout(this.timer);
      this.timer = null;
    }
    this.listeners.clear();
  }

  private setState(state: SessionState): void {
    this.state = state;
    for (const listener of this.listeners) {
      listener(state);
    }
  }
}
