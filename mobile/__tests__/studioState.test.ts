import { ApiError, describeError, errorMessage, results } from '@/api/errors';
import { clock, parseLocal, when } from '@/components/format';
import { normaliseServerUrl, studioSocketUrl } from '@/config';
import { type StudioEvent, applyEvent, backstage, onStage } from '@/studio/events';
import { serverForJoin } from '@/studio/joinLink';
import { StudioSocket } from '@/studio/socket';

import { FakeWebSocket } from './support/fakeServer';

const HOST = { id: 'host-1', guest_id: null, name: 'Host', role: 'host' as const, on_stage: true, audio: true, video: true };
const GUEST = { id: 'guest-4', guest_id: 4, name: 'Grace', role: 'guest' as const, on_stage: false, audio: true, video: true };
const FULL: StudioEvent = {
  type: 'state.full',
  role: 'host',
  you: HOST,
  stream: { id: 7, title: 'Show', status: 'scheduled', started_at: null, ended_at: null },
  participants: [HOST],
  scene: { layout: 'solo' },
  destinations: [{ id: 3, name: 'Ingest', platform: 'custom', enabled: true, status: 'idle', health: {} }],
};

describe('studio events', () => {
  it('folds the socket protocol into one state', () => {
    let state = applyEvent(null, { type: 'participant.joined', participant: GUEST });
    expect(state).toBeNull(); // nothing before state.full
    state = applyEvent(state, FULL);
    state = applyEvent(state, { type: 'participant.joined', participant: GUEST });
    expect(backstage(state!).map((p) => p.id)).toEqual(['guest-4']);
    state = applyEvent(state, { type: 'participant.updated', participant: { id: 'guest-4', on_stage: true } });
    expect(onStage(state!).map((p) => p.id)).toEqual(['host-1', 'guest-4']);
    state = applyEvent(state, { type: 'scene.changed', scene: { layout: 'side_by_side' } });
    state = applyEvent(state, { type: 'stream.status', stream: { id: 7, status: 'live', started_at: '2026-01-01T10:00:00Z' } });
    state = applyEvent(state, { type: 'destination.health', destination: { id: 3, state: 'live', bitrate_kbps: 900 } });
    state = applyEvent(state, { type: 'chat.message', message: { id: 'm1', author: 'Grace', role: 'guest', text: 'hi', at: '' } });
    state = applyEvent(state, { type: 'participant.left', participant: { id: 'guest-4', guest_id: 4 } });
    expect(state).toMatchObject({
      scene: { layout: 'side_by_side' },
      stream: { status: 'live', title: 'Show' },
      destinations: [{ health: { state: 'live', bitrate_kbps: 900 } }],
      chat: [{ text: 'hi' }],
      ended: null,
    });
    expect(state!.participants.map((p) => p.id)).toEqual(['host-1']);
    expect(applyEvent(state, { type: 'session.ended', reason: 'The host removed you.' })?.ended).toBe('The host removed you.');
  });

  it('never goes back to an older scene, whichever event carries it', () => {
    let state = applyEvent(null, { ...FULL, scene_version: 100 } as StudioEvent);
    state = applyEvent(state, { type: 'scene.changed', scene: { layout: 'grid' }, scene_version: 300 });
    state = applyEvent(state, { type: 'scene.changed', scene: { layout: 'solo' }, scene_version: 200 }); // late
    expect(state).toMatchObject({ scene: { layout: 'grid' }, sceneVersion: 300 });
    // A state.full read before that publish: the people and the stream are taken, its scene is not.
    state = applyEvent(state, { ...FULL, scene: { layout: 'pip' }, scene_version: 250, participants: [HOST, GUEST] } as StudioEvent);
    expect(state).toMatchObject({ scene: { layout: 'grid' }, sceneVersion: 300 });
    expect(state!.participants).toHaveLength(2);
    state = applyEvent(state, { ...FULL, scene: { layout: 'pip' }, scene_version: 400 } as StudioEvent);
    expect(state).toMatchObject({ scene: { layout: 'pip' }, sceneVersion: 400 });
  });

  it('keeps `you` in step with your row', () => {
    let state = applyEvent(null, { ...FULL, role: 'guest', you: GUEST, participants: [HOST, GUEST] } as StudioEvent);
    state = applyEvent(state, { type: 'participant.updated', participant: { id: 'guest-4', audio: false } });
    expect(state?.you?.audio).toBe(false);
  });
});

describe('studio socket', () => {
  beforeEach(() => {
    FakeWebSocket.instances = [];
    jest.useFakeTimers();
  });
  afterEach(() => jest.useRealTimers());

  it('authenticates first, reconnects with backoff, and stops for good on 4410', async () => {
    const events: string[] = [];
    const socket = new StudioSocket({
      url: 'wss://x/ws/studio/7/',
      auth: { token: 'tok' },
      onEvent: (e) => events.push(e.type),
      WebSocketImpl: FakeWebSocket as unknown as typeof WebSocket,
    });
    socket.start();
    await jest.advanceTimersByTimeAsync(1);
    const first = FakeWebSocket.last();
    expect(first.sent).toEqual([{ type: 'auth', token: 'tok' }]);
    first.emit(FULL);
    expect(events).toEqual(['state.full']);
    first.close(1006); // network drop: reconnect
    await jest.advanceTimersByTimeAsync(600);
    expect(FakeWebSocket.instances).toHaveLength(2);
    FakeWebSocket.last().close(4410); // removed: final
    await jest.advanceTimersByTimeAsync(20_000);
    expect(FakeWebSocket.instances).toHaveLength(2);
    socket.stop();
  });

  it('notices a connection that goes silent, pings, and reconnects when no pong comes', async () => {
    const statuses: string[] = [];
    const socket = new StudioSocket({
      url: 'wss://x/ws/studio/7/',
      auth: { token: 'tok' },
      onEvent: () => {},
      onStatus: (status) => statuses.push(status),
      WebSocketImpl: FakeWebSocket as unknown as typeof WebSocket,
    });
    socket.start();
    await jest.advanceTimersByTimeAsync(1);
    const first = FakeWebSocket.last();
    first.emit(FULL);
    // Quiet for a while: a ping, answered, and the connection is kept.
    await jest.advanceTimersByTimeAsync(6_000);
    expect(first.sent).toContainEqual({ type: 'ping' });
    first.emit({ type: 'pong' });
    await jest.advanceTimersByTimeAsync(9_000);
    expect(FakeWebSocket.instances).toHaveLength(1);
    // Then nothing comes back (the network dropped it without a close): given up, and a new one opened.
    await jest.advanceTimersByTimeAsync(14_000);
    expect(statuses).toContain('closed');
    expect(FakeWebSocket.instances.length).toBeGreaterThanOrEqual(2);
    expect(first.readyState).toBe(3);
    socket.stop();
  });
});

describe('links, errors and formats', () => {
  it('finds the server of an invite', () => {
    expect(serverForJoin({ param: 'studio.example.com', fallback: '' })).toBe('https://studio.example.com');
    expect(serverForJoin({ linkUrl: 'https://live.example.org/join/abc/', fallback: 'https://other' })).toBe('https://live.example.org');
    expect(serverForJoin({ linkUrl: 'streamus://join/abc', fallback: 'https://default.example' })).toBe('https://default.example');
  });
  it('normalises server addresses and builds the socket URL', () => {
    expect(normaliseServerUrl(' studio.example.com/ ')).toBe('https://studio.example.com');
    expect(normaliseServerUrl('http://127.0.0.1:8000')).toBe('http://127.0.0.1:8000');
    expect(studioSocketUrl('http://127.0.0.1:8000', 5)).toBe('ws://127.0.0.1:8000/ws/studio/5/');
  });
  it('turns API errors into sentences', () => {
    expect(errorMessage({ detail: 'Nope.' }, 409)).toBe('Nope.');
    expect(errorMessage({ rtmp_url: ['Use rtmp:// or rtmps://.'] }, 400)).toBe('rtmp url: Use rtmp:// or rtmps://.');
    expect(errorMessage({ non_field_errors: ['Already live.'] }, 400)).toBe('Already live.');
    expect(errorMessage(null, 410)).toBe('This link is no longer valid.');
    expect(describeError(new ApiError('x', 400))).toBe('x');
    expect(describeError(new TypeError('Network request failed'))).toMatch(/Cannot reach the server/);
    expect(results({ results: [1, 2] })).toEqual([1, 2]);
    expect(results([3])).toEqual([3]);
  });
  it('reads and writes local times and the on-air clock', () => {
    const iso = parseLocal('2026-05-01 18:30');
    expect(when(iso)).toBe('2026-05-01 18:30');
    expect(parseLocal('')).toBeNull();
    expect(() => parseLocal('2026-02-30 10:00')).toThrow('That date does not exist.');
    expect(clock(3725)).toBe('1:02:05');
  });
});
