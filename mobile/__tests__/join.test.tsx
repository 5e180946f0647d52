import { act, fireEvent, screen, waitFor } from '@testing-library/react-native';

import Join from '@/app/join/[token]';

import { FakeWebSocket, SERVER, fakeServer } from './support/fakeServer';
import { livekit } from './support/livekitMock';
import { renderScreen } from './support/render';
import { resetRouter } from './support/routerMock';

const INFO = { stream: { id: 7, title: 'Morning show', status: 'scheduled' }, guest: { id: 4, display_name: '', role: 'guest' } };
const ME = { id: 'guest-4', guest_id: 4, name: 'Grace', role: 'guest', on_stage: false, audio: true, video: true, online: true };
const HOST = { id: 'host-1', guest_id: null, name: 'Host', role: 'host', on_stage: true, audio: true, video: true };
const STATE = {
  type: 'state.full',
  role: 'guest',
  you: ME,
  stream: { id: 7, title: 'Morning show', status: 'live', started_at: null, ended_at: null },
  participants: [HOST, ME],
  scene: {},
  chat: [],
};

beforeEach(() => {
  resetRouter({ token: 'tok', server: SERVER });
  livekit.reset();
  FakeWebSocket.instances = [];
  globalThis.WebSocket = FakeWebSocket as unknown as typeof WebSocket;
});

function guestServer() {
  return fakeServer({
    'GET /api/v1/join/{token}/': () => ({ body: INFO }),
    'POST /api/v1/join/{token}/': (r) => ({
      body: { ...INFO, guest: { ...INFO.guest, display_name: (r.body as { display_name: string }).display_name } },
    }),
    'POST /api/v1/join/{token}/rtc/': () => ({
      body: { url: 'wss://lk.example.com', token: 'guest-lk-token', identity: 'guest-4', room: 'stream-7' },
    }),
    'POST /api/v1/join/{token}/mute/': () => ({ body: INFO }),
    'POST /api/v1/join/{token}/unmute-request/': () => ({ status: 202 }),
  });
}

async function toBackstage() {
  const server = guestServer();
  await renderScreen(<Join />);
  await fireEvent.changeText(await screen.findByTestId('guest-name'), 'Grace');
  await fireEvent.press(screen.getByTestId('name-continue'));
  expect(await screen.findByTestId('join-green-room')).toBeTruthy();
  await fireEvent.press(screen.getByTestId('join-backstage'));
  await waitFor(() => expect(FakeWebSocket.instances).toHaveLength(1));
  const socket = FakeWebSocket.last();
  await waitFor(() => expect(socket.sent).toHaveLength(1));
  await act(async () => socket.emit(STATE));
  return { server, socket };
}

it('name → green room with a camera preview, a mic level and a flip, no room joined yet', async () => {
  const server = guestServer();
  await renderScreen(<Join />);
  expect(await screen.findByText('Morning show')).toBeTruthy();
  await fireEvent.changeText(screen.getByTestId('guest-name'), 'Grace');
  await fireEvent.press(screen.getByTestId('name-continue'));
  expect(await screen.findByText(/Green room/)).toBeTruthy();
  expect(server.find('POST', '/api/v1/join/tok/')[0]?.body).toEqual({ display_name: 'Grace' });
  await waitFor(() => expect(livekit.tracks).toHaveLength(2)); // camera + microphone for the preview
  expect(livekit.rooms).toHaveLength(0);
  // The native mic level (useTrackVolume, mocked at 0.4) drives the meter.
  await waitFor(() => expect(screen.getByTestId('mic-meter').props['aria-valuenow']).toBe(40));
  await fireEvent.press(screen.getByTestId('flip-camera'));
  const video = livekit.tracks.find((t) => t.kind === 'video')!;
  await waitFor(() => expect(video.restarts).toHaveLength(1));
  expect(video.restarts[0]).toMatchObject({ facingMode: 'environment' });
});

it('backstage → on stage, told when the host mutes them (and can ask to be unmuted), screen kept awake on stage', async () => {
  const { server, socket } = await toBackstage();
  const keepAwake = jest.requireMock<typeof import('expo-keep-awake')>('expo-keep-awake');
  expect(socket.url).toBe('wss://studio.example.com/ws/studio/7/');
  expect(socket.sent[0]).toEqual({ type: 'auth', token: 'tok' });
  expect(await screen.findByText(/You are backstage/)).toBeTruthy();
  await waitFor(() => expect(livekit.rooms[0]?.connected?.token).toBe('guest-lk-token'));
  await waitFor(() => expect(livekit.rooms[0]?.published).toHaveLength(2));

  await act(async () => socket.emit({ type: 'participant.updated', participant: { id: 'guest-4', on_stage: true } }));
  expect(await screen.findByText(/You are ON STAGE/)).toBeTruthy();
  await waitFor(() => expect(keepAwake.activateKeepAwakeAsync).toHaveBeenCalled());

  await act(async () => socket.emit({ type: 'participant.updated', participant: { id: 'guest-4', audio: false } }));
  expect(await screen.findByTestId('muted-by-host')).toBeTruthy();
  const mic = livekit.tracks.find((t) => t.kind === 'audio')!;
  await waitFor(() => expect(mic.isMuted).toBe(true));
  await fireEvent.press(screen.getByTestId('ask-unmute'));
  expect(await screen.findByText('Asked the host to unmute you')).toBeTruthy();
  expect(server.find('POST', '/api/v1/join/tok/unmute-request/')).toHaveLength(1);
});

it('mutes themselves through the API', async () => {
  const { server } = await toBackstage();
  await fireEvent.press(screen.getByTestId('guest-mic-toggle'));
  await waitFor(() => expect(server.find('POST', '/api/v1/join/tok/mute/')[0]?.body).toEqual({ audio: false }));
});

it('is told when removed', async () => {
  const { socket } = await toBackstage();
  await act(async () => socket.emit({ type: 'session.ended', reason: 'The host removed you.' }));
  expect(await screen.findByText('The host removed you.')).toBeTruthy();
});

it('is told when the show ends', async () => {
  const { socket } = await toBackstage();
  await act(async () => socket.emit({ type: 'stream.status', stream: { id: 7, status: 'ended' } }));
  expect(await screen.findByText(/The show has ended/)).toBeTruthy();
});

it('an expired invite says so and goes no further', async () => {
  fakeServer({ 'GET /api/v1/join/{token}/': () => ({ status: 410, body: { detail: 'This invite has expired.' } }) });
  await renderScreen(<Join />);
  expect(await screen.findByText('This invite has expired.')).toBeTruthy();
  expect(screen.queryByTestId('guest-name')).toBeNull();
});
