import { fireEvent, screen, waitFor } from '@testing-library/react-native';

import Streams from '@/app/(host)/index';
import HostLayout from '@/app/(host)/_layout';
import StreamDetail from '@/app/(host)/streams/[id]/index';
import NewStream from '@/app/(host)/streams/new';
import { useAuth } from '@/auth/AuthProvider';
import type { AuthSession } from '@/auth/session';

import { renderScreen, signedIn } from './support/render';
import { resetRouter, router, routerState } from './support/routerMock';

const STREAM = {
  id: 7,
  title: 'Morning show',
  description: '',
  status: 'scheduled',
  scheduled_start: null,
  started_at: null,
  ended_at: null,
  resolution: '720p',
  fps: 30,
  updated_at: '2026-01-01T00:00:00Z',
};
const page = <T,>(results: T[]) => ({ body: { count: results.length, next: null, previous: null, results } });
let session: AuthSession | null = null;

/** What the (host) layout does: host screens only while signed in. */
function Guarded({ children }: { children: React.ReactNode }) {
  const { state } = useAuth();
  return state.status === 'signed-in' ? <>{children}</> : null;
}

beforeEach(() => resetRouter());
afterEach(() => session?.dispose());

it('the host screens send a signed-out person to sign-in', async () => {
  const { AuthSession } = jest.requireActual<typeof import('@/auth/session')>('@/auth/session');
  const signedOut = new AuthSession();
  await signedOut.signOut();
  await renderScreen(<HostLayout />, signedOut);
  expect(routerState.redirect).toBe('/sign-in');
});

it('lists the streams with a bearer token, and signs out', async () => {
  const ctx = await signedIn({
    'GET /api/v1/streams/': () => page([STREAM, { ...STREAM, id: 8, title: 'Evening', status: 'live' }]),
    'POST /api/v1/auth/logout': () => ({ status: 204 }),
  });
  session = ctx.session;
  await renderScreen(
    <Guarded>
      <Streams />
    </Guarded>,
    session,
  );
  expect(await screen.findByText('Morning show')).toBeTruthy();
  expect(screen.getByText('ON AIR')).toBeTruthy();
  expect(ctx.server.find('GET', '/api/v1/streams/')[0]?.headers.get('Authorization')).toMatch(/^Bearer ey/);
  await fireEvent.press(screen.getByTestId('sign-out'));
  await waitFor(() => expect(session?.getState().status).toBe('signed-out'));
  expect(screen.queryByText('Morning show')).toBeNull();
  expect(ctx.server.find('POST', '/api/v1/auth/logout')[0]?.body).toEqual({ refresh: 'refresh-1' });
});

it('creates a scheduled stream and opens it', async () => {
  const ctx = await signedIn({ 'POST /api/v1/streams/': () => ({ status: 201, body: { ...STREAM, id: 9 } }) });
  session = ctx.session;
  await renderScreen(<NewStream />, session);
  await fireEvent.changeText(screen.getByTestId('stream-title'), 'Launch day');
  await fireEvent.changeText(screen.getByTestId('stream-start'), '2026-05-01 18:30');
  await fireEvent.press(screen.getByTestId('resolution-1080p'));
  await fireEvent.press(screen.getByTestId('stream-submit'));
  await waitFor(() => expect(router.replace).toHaveBeenCalledWith('/streams/9'));
  const body = ctx.server.find('POST', '/api/v1/streams/')[0]?.body as Record<string, unknown>;
  expect(body).toMatchObject({ title: 'Launch day', resolution: '1080p' });
  expect(new Date(body.scheduled_start as string).getHours()).toBe(18);
});

it('refuses a start time it cannot read, without calling the server', async () => {
  const ctx = await signedIn({});
  session = ctx.session;
  await renderScreen(<NewStream />, session);
  await fireEvent.changeText(screen.getByTestId('stream-title'), 'Launch day');
  await fireEvent.changeText(screen.getByTestId('stream-start'), 'tomorrow-ish');
  await fireEvent.press(screen.getByTestId('stream-submit'));
  expect(await screen.findByText(/Write the start as YYYY-MM-DD HH:MM/)).toBeTruthy();
  expect(ctx.server.find('POST', '/api/v1/streams/')).toHaveLength(0);
});

describe('stream page', () => {
  const destination = {
    id: 3,
    stream: 7,
    platform: 'custom',
    name: 'Ingest',
    rtmp_url: 'rtmp://ingest.example.com/live',
    stream_key: '••••1234',
    has_stream_key: true,
    enabled: true,
    status: 'idle',
  };

  it('adds a destination with a write-only key that never shows again, and shows keys masked', async () => {
    const ctx = await signedIn({
      'GET /api/v1/streams/{id}/': () => ({ body: STREAM }),
      'GET /api/v1/streams/{id}/destinations/': () => page([]),
      'POST /api/v1/streams/{id}/destinations/': () => ({ status: 201, body: destination }),
    });
    session = ctx.session;
    routerState.params = { id: '7' };
    await renderScreen(<StreamDetail />, session);
    await fireEvent.press(await screen.findByTestId('platform-custom'));
    await fireEvent.changeText(screen.getByTestId('destination-url'), 'rtmp://ingest.example.com/live');
    await fireEvent.changeText(screen.getByTestId('destination-key'), 'live_sk_secret1234');
    expect(screen.getByTestId('destination-key').props.secureTextEntry).toBe(true);
    await fireEvent.press(screen.getByTestId('destination-add'));
    expect(await screen.findByText('Stream key ••••1234')).toBeTruthy();
    expect(screen.queryByText(/live_sk_secret/)).toBeNull();
    expect(screen.getByTestId('destination-key').props.value).toBe('');
    expect(ctx.server.find('POST', '/api/v1/streams/7/destinations/')[0]?.body).toMatchObject({
      platform: 'custom',
      stream_key: 'live_sk_secret1234',
    });
  });

  it('edits the stream, makes an invite link and opens the studio', async () => {
    const ctx = await signedIn({
      'GET /api/v1/streams/{id}/': () => ({ body: STREAM }),
      'PATCH /api/v1/streams/{id}/': (r) => ({ body: { ...STREAM, ...(r.body as object), updated_at: 'later' } }),
      'GET /api/v1/streams/{id}/destinations/': () => page([destination]),
      'POST /api/v1/streams/{id}/guests/': () => ({
        status: 201,
        body: { id: 4, token: 'tok', join_url: 'https://studio.example.com/join/tok/' },
      }),
    });
    session = ctx.session;
    routerState.params = { id: '7' };
    await renderScreen(<StreamDetail />, session);
    expect(await screen.findByText('Stream key ••••1234')).toBeTruthy();
    await fireEvent.changeText(screen.getByTestId('stream-title'), 'Morning show, live');
    await fireEvent.press(screen.getByTestId('stream-submit'));
    expect(await screen.findByText('Saved.')).toBeTruthy();
    expect(ctx.server.find('PATCH', '/api/v1/streams/7/')[0]?.body).toMatchObject({ title: 'Morning show, live' });
    await fireEvent.press(screen.getByTestId('invite'));
    expect(await screen.findByText('https://studio.example.com/join/tok/')).toBeTruthy();
    await fireEvent.press(screen.getByTestId('open-studio'));
    expect(router.push).toHaveBeenCalledWith('/streams/7/studio');
  });
});
