import { MediaController, publishOptions } from '@/media/controller';
import { mediaPlan } from '@/policy';

import { livekit } from './support/livekitMock';

const facts = {
  os: 'android',
  device: { yearClass: 2022, totalMemory: 8 * 1024 ** 3 },
  network: 'wifi' as const,
  power: { level: 0.9, charging: false, lowPowerMode: false },
  appState: 'active' as const,
  wish: { camera: true, microphone: true },
  onStage: true,
  connected: true,
};

beforeEach(() => livekit.reset());

it('publishes with the plan: H.264, top layer bitrate and fps, simulcast layers', () => {
  const options = publishOptions(mediaPlan(facts));
  expect(options).toMatchObject({ videoCodec: 'h264', backupCodec: { codec: 'vp8' }, simulcast: true });
  expect(options.videoEncoding).toEqual({ maxBitrate: 1_700_000, maxFramerate: 30 });
});

it('follows the app state and the battery: camera off in the background, back on return, fewer fps when low', async () => {
  const controller = new MediaController();
  await controller.start(mediaPlan(facts), 'user');
  const video = livekit.tracks.find((t) => t.kind === 'video')!;
  const audio = livekit.tracks.find((t) => t.kind === 'audio')!;

  await controller.apply(mediaPlan({ ...facts, appState: 'background' }));
  expect(video.isMuted).toBe(true);
  expect(audio.isMuted).toBe(false);
  await controller.apply(mediaPlan(facts));
  expect(video.isMuted).toBe(false);

  await controller.apply(mediaPlan({ ...facts, power: { level: 0.15, charging: false, lowPowerMode: false } }));
  expect(video.restarts.at(-1)).toMatchObject({ resolution: { width: 1280, height: 720, frameRate: 15 } });
  await controller.stop();
  expect(video.stopped && audio.stopped).toBe(true);
});

it('says so when the room cannot be joined', async () => {
  livekit.failConnect = 'could not establish signal connection';
  const controller = new MediaController();
  const snapshots: string[] = [];
  controller.subscribe((s) => snapshots.push(s.connection));
  await controller.start(mediaPlan(facts), 'user');
  await controller.connect({ url: 'wss://x', token: 't', identity: 'guest-4', room: 'stream-7' });
  expect(controller.getSnapshot()).toMatchObject({ connection: 'disconnected', error: expect.stringMatching(/Could not join/) });
  expect(snapshots).toContain('connecting');
});
