import { act, fireEvent, screen, waitFor } from '@testing-library/react-native';

import Studio from '@/app/(host)/streams/[id]/studio';
import type { AuthSession } from '@/auth/session';

import { FakeWebSocket } from './support/fakeServer';
import { livekit } from './support/livekitMock';
import { renderScreen, signedIn } from './support/render';
import { resetRouter, routerState } from './support/routerMock';

const HOST = { id: 'host-1', guest_id: null, name: 'Host', role: 'host', on_stage: true, audio: true, video: true, online: true };
const GUEST = { id: 'guest-4', guest_id: 4, name: 'Grace', role: 'guest', on_stage: false, audio: true, video: true, online: true };
const STATE = {
  type: 'state.full',
  role: 'host',
  you: HOST,
  stream: { id: 7, title: 'Morning show', status: 'scheduled', started_at: null, ended_at: null },
  participants: [HOST, GUEST],
  scene: { layout: 'solo', overlays: { banner: false }, banner_text: '' },
  destinations: [{ id: 3, name: 'Ingest', platform: 'custom', enabled: true, status: 'idle', health: {} }],
  chat: [],
};
const GUEST_ROW = { id: 4, stream: 7, display_name: 'Grace', role: 'guest', audio_enabled: true, video_enabled: true, on_stage: false };
const COMMENT = {
  id: 11, stream: 7, platform: 'youtube', author_name: 'Ada', author_id: 'a', author_initial: 'A', avatar_url: '',
  text: 'Hello from the chat', created_at: '', status: 'pending', moderation_reason: '', pinned: false, on_screen: false,
};
const LIVE = { id: 7, title: 'Morning show', status: 'live', started_at: new Date().toISOString(), ended_at: null };
let session: AuthSession;

beforeEach(() => {
  resetRouter({ id: '7' });
  livekit.reset();
  FakeWebSocket.instances = [];
  globalThis.WebSocket = FakeWebSocket as unknown as typeof WebSocket;
});
afterEach(() => session.dispose());

async function openStudio() {
  const ctx = await signedIn({
    'POST /api/v1/streams/{id}/studio/rtc/': () => ({
      body: { url: 'wss://lk.example.com', token: 'host-lk-token', identity: 'host-1', room: 'stream-7' },
    }),
    'GET /api/v1/streams/{id}/comments/': () => ({ body: [COMMENT] }),
    'POST /api/v1/comments/{id}/{action}/': () => ({ body: { ...COMMENT, on_screen: true, status: 'approved' } }),
    'PATCH /api/v1/streams/{id}/scene/': (r) => ({ body: { stream: 7, scene: r.body, canvases: {}, assets: {}, fps: 30 } }),
    'POST /api/v1/guests/{id}/stage/': () => ({ body: { ...GUEST_ROW, on_stage: true } }),
    'POST /api/v1/guests/{id}/mute/': () => ({ body: { ...GUEST_ROW, on_stage: true, audio_enabled: false } }),
    'POST /api/v1/guests/{id}/remove/': () => ({ status: 204 }),
    'POST /api/v1/streams/{id}/go-live/': () => ({ body: { ...LIVE } }),
    'POST /api/v1/streams/{id}/end/': () => ({ body: { ...LIVE, status: 'ended', ended_at: new Date().toISOString() } }),
  });
  session = ctx.session;
  await renderScreen(<Studio />, session);
  await waitFor(() => expect(FakeWebSocket.instances).toHaveLength(1));
  const socket = FakeWebSocket.last();
  await waitFor(() => expect(socket.sent).toHaveLength(1));
  await act(async () => socket.emit(STATE));
  return { ...ctx, socket };
}

it('joins the studio: socket auth with the access token, camera published as hardware H.264 with simulcast', async () => {
  const { socket } = await openStudio();
  expect(socket.url).toBe('wss://studio.example.com/ws/studio/7/');
  expect(socket.sent[0]).toMatchObject({ type: 'auth', access: expect.stringMatching(/^ey/) });
  expect(await screen.findByText('Grace')).toBeTruthy();

  await waitFor(() => expect(livekit.rooms[0]?.published).toHaveLength(2));
  const room = livekit.rooms[0]!;
  expect(room.connected).toMatchObject({ url: 'wss://lk.example.com', token: 'host-lk-token', options: { autoSubscribe: false } });
  const video = room.published.find((p) => p.track.kind === 'video')!;
  // The jest-expo preset runs as iOS: H.264 (VideoToolbox), 720p on a 2022-class phone on Wi-Fi.
  expect(video.options).toMatchObject({
    videoCodec: 'h264',
    backupCodec: { codec: 'vp8' },
    simulcast: true,
    videoEncoding: { maxBitrate: 1_700_000, maxFramerate: 30 },
  });
  expect((video.options.videoSimulcastLayers as { height: number }[]).map((l) => l.height)).toEqual([180, 360]);
  expect(livekit.captureOptions[0]).toMatchObject({ video: { facingMode: 'user', resolution: { width: 1280, height: 720 } } });
  expect(await screen.findByText(/camera live in the room/)).toBeTruthy();
});

it('brings a guest on stage, picks a layout and a banner, mutes and removes them', async () => {
  const { server } = await openStudio();
  await fireEvent.press(await screen.findByTestId('stage-guest-4'));
  await waitFor(() => expect(server.find('POST', '/api/v1/guests/4/stage/')).toHaveLength(1));
  expect(await screen.findByTestId('backstage-guest-4')).toBeTruthy(); // now on stage: the button sends back

  await fireEvent.press(screen.getByTestId('layout-side_by_side'));
  await waitFor(() => expect(server.find('PATCH', '/api/v1/streams/7/scene/')[0]?.body).toEqual({ layout: 'side_by_side' }));

  await fireEvent.changeText(screen.getByTestId('banner-text'), 'Q&A at the end');
  await fireEvent(screen.getByTestId('banner-toggle'), 'valueChange', true);
  await waitFor(() =>
    expect(server.find('PATCH', '/api/v1/streams/7/scene/')[1]?.body).toEqual({ overlays: { banner: true }, banner_text: 'Q&A at the end' }),
  );

  await fireEvent.press(screen.getByTestId('mute-guest-4'));
  await waitFor(() => expect(server.find('POST', '/api/v1/guests/4/mute/')[0]?.body).toEqual({ audio: false }));
  expect(await screen.findByText(/muted/)).toBeTruthy();

  await fireEvent.press(screen.getByTestId('remove-guest-4'));
  expect(await screen.findByText('Remove this guest?')).toBeTruthy();
  await fireEvent.press(screen.getByTestId('confirm-ok'));
  await waitFor(() => expect(server.find('POST', '/api/v1/guests/4/remove/')).toHaveLength(1));
});

it('goes live only after confirming, shows the on-air clock and destination health, ends the show', async () => {
  const { server, socket } = await openStudio();
  await fireEvent.press(await screen.findByTestId('go-live'));
  expect(server.find('POST', '/api/v1/streams/7/go-live/')).toHaveLength(0);
  await fireEvent.press(screen.getByTestId('confirm-ok'));
  await waitFor(() => expect(server.find('POST', '/api/v1/streams/7/go-live/')).toHaveLength(1));
  expect(await screen.findByTestId('on-air-clock')).toBeTruthy();

  await act(async () => socket.emit({ type: 'destination.health', destination: { id: 3, state: 'live', bitrate_kbps: 2480.4, reconnects: 0 } }));
  expect(screen.getByTestId('health-state-3').props.children.join('')).toBe('live · 2480 kbps');

  await fireEvent.press(screen.getByTestId('end-show'));
  await fireEvent.press(screen.getByTestId('confirm-ok'));
  expect(await screen.findByTestId('show-ended')).toBeTruthy();
  expect(server.find('POST', '/api/v1/streams/7/end/')).toHaveLength(1);
  expect(routerState.redirect).toBeNull();
});

it('moderates comments: show on screen', async () => {
  const { server } = await openStudio();
  expect(await screen.findByText(/Hello from the chat/)).toBeTruthy();
  await fireEvent.press(screen.getByTestId('show-11'));
  await waitFor(() => expect(server.find('POST', '/api/v1/comments/11/show/')).toHaveLength(1));
});
