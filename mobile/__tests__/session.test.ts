import * as SecureStore from 'expo-secure-store';

import { createApi } from '@/api/client';
import { AuthSession } from '@/auth/session';
import { REFRESH_MARGIN_MS, needsRefresh, refreshDelay, tokenExpiry } from '@/auth/tokens';

import { SERVER, USER, fakeServer, jwt } from './support/fakeServer';

const NOW = 1_800_000_000_000;

describe('tokens', () => {
  it('reads exp and schedules the refresh a minute before it', () => {
    const access = jwt(NOW / 1000 + 300);
    expect(tokenExpiry(access)).toBe(NOW + 300_000);
    expect(refreshDelay(access, NOW)).toBe(300_000 - REFRESH_MARGIN_MS);
    expect(needsRefresh(access, NOW)).toBe(false);
    expect(needsRefresh(access, NOW + 250_000)).toBe(true);
    expect(tokenExpiry('garbage')).toBeNull();
  });
});

describe('session', () => {
  let clock = NOW;
  let session: AuthSession;
  beforeEach(async () => {
    jest.useFakeTimers({ now: NOW });
    clock = NOW;
    await SecureStore.deleteItemAsync('streamus.refresh');
    session = new AuthSession(() => clock);
  });
  afterEach(() => {
    session.dispose();
    jest.useRealTimers();
  });

  it('refreshes before the access token expires, rotating the refresh token', async () => {
    let n = 0;
    const server = fakeServer({
      'POST /api/v1/auth/login': () => ({ body: { user: USER, access: jwt(clock / 1000 + 300), refresh: 'r0' } }),
      'POST /api/v1/auth/refresh': () => {
        n += 1;
        return { body: { user: USER, access: jwt(clock / 1000 + 300), refresh: `r${n}` } };
      },
    });
    await session.signIn(SERVER, USER.email, 'pw');
    expect(server.find('POST', '/api/v1/auth/refresh')).toHaveLength(0);
    clock += 240_000;
    await jest.advanceTimersByTimeAsync(240_000);
    expect(server.find('POST', '/api/v1/auth/refresh')).toHaveLength(1);
    expect(server.find('POST', '/api/v1/auth/refresh')[0]?.body).toEqual({ refresh: 'r0' });
    expect(server.find('POST', '/api/v1/auth/refresh')[0]?.headers.get('X-Auth-Mode')).toBe('bearer');
    expect(await SecureStore.getItemAsync('streamus.refresh')).toBe('r1');
    expect(session.getState().status).toBe('signed-in');
  });

  it('signs out cleanly when the refresh is refused', async () => {
    fakeServer({
      'POST /api/v1/auth/login': () => ({ body: { user: USER, access: jwt(clock / 1000 + 300), refresh: 'r0' } }),
      'POST /api/v1/auth/refresh': () => ({ status: 401, body: { detail: 'Token is blacklisted' } }),
    });
    const states: string[] = [];
    session.subscribe((s) => states.push(s.status));
    await session.signIn(SERVER, USER.email, 'pw');
    clock += 240_000;
    await jest.advanceTimersByTimeAsync(240_000);
    expect(states).toEqual(['signed-in', 'signed-out']);
    expect(session.getState()).toEqual({ status: 'signed-out', reason: 'Your session ended. Please sign in again.' });
    expect(await SecureStore.getItemAsync('streamus.refresh')).toBeNull();
    expect(await session.accessToken()).toBeNull();
  });

  it('a request that meets a 401 refreshes once and is replayed with the new token', async () => {
    let calls = 0;
    const server = fakeServer({
      'POST /api/v1/auth/login': () => ({ body: { user: USER, access: jwt(clock / 1000 + 300, 'old'), refresh: 'r0' } }),
      'POST /api/v1/auth/refresh': () => ({ body: { user: USER, access: jwt(clock / 1000 + 300, 'new'), refresh: 'r1' } }),
      'GET /api/v1/auth/me': () => {
        calls += 1;
        return calls === 1 ? { status: 401, body: { detail: 'Token expired' } } : { body: USER };
      },
    });
    await session.signIn(SERVER, USER.email, 'pw');
    const api = createApi(session, SERVER);
    const { data } = await api.GET('/api/v1/auth/me');
    expect(data).toEqual(USER);
    const [first, second] = server.find('GET', '/api/v1/auth/me');
    expect(first?.headers.get('Authorization')).not.toBe(second?.headers.get('Authorization'));
  });
});
