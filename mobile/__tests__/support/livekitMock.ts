/**
 * LiveKit as the app sees it, recorded: rooms connected, tracks created and published with
 * which options, mutes, restarts. Tests assert on `livekit.rooms` and `livekit.tracks`.
 */
type Handler = (...args: unknown[]) => void;

export class FakeTrack {
  isMuted = false;
  stopped = false;
  restarts: unknown[] = [];
  mediaStreamTrack: { id: string };
  constructor(readonly kind: 'audio' | 'video') {
    this.mediaStreamTrack = { id: `${kind}-track` };
  }
  async mute() {
    this.isMuted = true;
  }
  async unmute() {
    this.isMuted = false;
  }
  async restartTrack(options: unknown) {
    this.restarts.push(options);
  }
  stop() {
    this.stopped = true;
  }
  attach() {
    return {};
  }
  detach() {
    return [];
  }
}

export class FakeRoom {
  handlers = new Map<string, Handler[]>();
  connected: { url: string; token: string; options: unknown } | null = null;
  published: { track: FakeTrack; options: Record<string, unknown> }[] = [];
  remoteParticipants = new Map();
  disconnected = false;
  localParticipant = {
    publishTrack: async (track: FakeTrack, options: Record<string, unknown>) => {
      this.published.push({ track, options });
    },
  };
  constructor(readonly options: unknown) {
    livekit.rooms.push(this);
  }
  on(event: string, handler: Handler) {
    this.handlers.set(event, [...(this.handlers.get(event) ?? []), handler]);
    return this;
  }
  emit(event: string, ...args: unknown[]) {
    for (const handler of this.handlers.get(event) ?? []) {
      handler(...args);
    }
  }
  async connect(url: string, token: string, options: unknown) {
    if (livekit.failConnect) {
      throw new Error(livekit.failConnect);
    }
    this.connected = { url, token, options };
  }
  async disconnect() {
    this.disconnected = true;
  }
}

export const livekit = {
  rooms: [] as FakeRoom[],
  tracks: [] as FakeTrack[],
  captureOptions: [] as unknown[],
  failConnect: null as string | null,
  reset() {
    this.rooms = [];
    this.tracks = [];
    this.captureOptions = [];
    this.failConnect = null;
  },
};

class VideoPreset {
  constructor(
    readonly width: number,
    readonly height: number,
    readonly maxBitrate: number,
    readonly maxFramerate?: number,
  ) {}
}

export const livekitClient = {
  Room: FakeRoom,
  RoomEvent: {
    Reconnecting: 'reconnecting',
    Reconnected: 'reconnected',
    Disconnected: 'disconnected',
    TrackPublished: 'trackPublished',
    TrackSubscribed: 'trackSubscribed',
    TrackUnsubscribed: 'trackUnsubscribed',
  },
  Track: { Kind: { Audio: 'audio', Video: 'video' }, Source: { Camera: 'camera', Microphone: 'microphone' } },
  VideoPreset,
  createLocalTracks: async (options: unknown) => {
    livekit.captureOptions.push(options);
    const tracks = [new FakeTrack('video'), new FakeTrack('audio')];
    livekit.tracks.push(...tracks);
    return tracks;
  },
};

export const livekitReactNative = {
  registerGlobals: () => undefined,
  AudioSession: { startAudioSession: async () => undefined, stopAudioSession: async () => undefined },
  useTrackVolume: () => 0.4,
  VideoTrack: () => null,
};
