/**
 * The camera, the microphone and the LiveKit room of one person, on livekit-client (which the
 * native build runs on @livekit/react-native-webrtc and the web build on the browser's WebRTC).
 * StudioRoom.tsx / StudioRoom.web.tsx render it; everything here is shared by both.
 *
 * - start(): local camera + microphone for the preview (green room), no room yet.
 * - connect(): join the room with the grant from the API and publish the tracks with the
 *   plan's codec (hardware H.264 on phones), capture size, frame rate and simulcast layers.
 * - apply(): a new plan (battery → fps, background → camera off, on/off wishes).
 * - Only other people's AUDIO is subscribed: the phone hears the show without decoding
 *   video nobody on a small screen needs (the program is composed on the server).
 */
import {
  type LocalAudioTrack,
  type LocalVideoTrack,
  type RemoteTrack,
  type RemoteTrackPublication,
  Room,
  RoomEvent,
  Track,
  type TrackPublishOptions,
  VideoPreset,
  createLocalTracks,
} from 'livekit-client';

import type { RtcGrant } from '@/api/types';
import type { Layer } from '@/policy/capture';
import type { MediaPlan } from '@/policy';

export type Facing = 'user' | 'environment';
export type Connection = 'idle' | 'connecting' | 'connected' | 'reconnecting' | 'disconnected';

export interface MediaSnapshot {
  video: LocalVideoTrack | null;
  audio: LocalAudioTrack | null;
  connection: Connection;
  error: string | null;
  facing: Facing;
}

const preset = (layer: Layer) => new VideoPreset(layer.width, layer.height, layer.maxBitrate, layer.fps);

export function publishOptions(plan: MediaPlan): TrackPublishOptions {
  const { top, simulcast } = plan.capture;
  return {
    videoCodec: plan.encoder.codec,
    backupCodec: plan.encoder.backupCodec ? { codec: plan.encoder.backupCodec } : false,
    simulcast: true,
    videoEncoding: { maxBitrate: top.maxBitrate, maxFramerate: top.fps },
    videoSimulcastLayers: simulcast.map(preset),
    source: Track.Source.Camera,
  };
}

type Listener = (snapshot: MediaSnapshot) => void;

export class MediaController {
  private room: Room | null = null;
  private snapshot: MediaSnapshot = { video: null, audio: null, connection: 'idle', error: null, facing: 'user' };
  private listeners = new Set<Listener>();
  private plan: MediaPlan | null = null;
  private published = false;

  constructor(private readonly onRemoteAudio?: (track: RemoteTrack, attached: boolean) => void) {}

  subscribe(listener: Listener): () => void {
    this.listeners.add(listener);
    listener(this.snapshot);
    return () => this.listeners.delete(listener);
  }

  getSnapshot(): MediaSnapshot {
    return this.snapshot;
  }

  async start(plan: MediaPlan, facing: Facing): Promise<void> {
    this.plan = plan;
    try {
      const tracks = await createLocalTracks({
        audio: { echoCancellation: true, noiseSuppression: true, autoGainControl: true },
        video: {
          facingMode: facing,
          resolution: { width: plan.capture.top.width, height: plan.capture.top.height, frameRate: plan.capture.top.fps },
        },
      });
      const video = (tracks.find((t) => t.kind === Track.Kind.Video) as LocalVideoTrack | undefined) ?? null;
      const audio = (tracks.find((t) => t.kind === Track.Kind.Audio) as LocalAudioTrack | undefined) ?? null;
      this.update({ video, audio, facing, error: null });
      await this.apply(plan);
    } catch (error) {
      this.update({ error: `Camera or microphone unavailable: ${(error as Error).message}` });
    }
  }

  async connect(grant: RtcGrant): Promise<void> {
    if (this.room) {
      return;
    }
    const room = new Room({ adaptiveStream: false, dynacast: true });
    this.room = room;
    room
      .on(RoomEvent.Reconnecting, () => this.update({ connection: 'reconnecting' }))
      .on(RoomEvent.Reconnected, () => this.update({ connection: 'connected' }))
      .on(RoomEvent.Disconnected, () => this.update({ connection: 'disconnected' }))
      .on(RoomEvent.TrackPublished, (publication: RemoteTrackPublication) => this.maybeSubscribe(publication))
      .on(RoomEvent.TrackSubscribed, (track: RemoteTrack) => this.onRemoteAudio?.(track, true))
      .on(RoomEvent.TrackUnsubscribed, (track: RemoteTrack) => this.onRemoteAudio?.(track, false));
    this.update({ connection: 'connecting', error: null });
    try {
      await room.connect(grant.url, grant.token, { autoSubscribe: false });
    } catch (error) {
      this.room = null;
      this.update({ connection: 'disconnected', error: `Could not join the studio: ${(error as Error).message}` });
      return;
    }
    for (const participant of room.remoteParticipants.values()) {
      for (const publication of participant.trackPublications.values()) {
        this.maybeSubscribe(publication);
      }
    }
    this.update({ connection: 'connected' });
    await this.publish();
  }

  private maybeSubscribe(publication: RemoteTrackPublication): void {
    if (publication.kind === Track.Kind.Audio) {
      publication.setSubscribed(true);
    }
  }

  private async publish(): Promise<void> {
    const { room, plan } = this;
    if (!room || !plan || this.published) {
      return;
    }
    this.published = true;
    const { video, audio } = this.snapshot;
    if (audio) {
      await room.localParticipant.publishTrack(audio, { source: Track.Source.Microphone, dtx: true });
    }
    if (video) {
      await room.localParticipant.publishTrack(video, publishOptions(plan));
    }
  }

  /** Follow a new plan: camera / microphone on or off, and the capture frame rate. */
  async apply(plan: MediaPlan): Promise<void> {
    const previous = this.plan;
    this.plan = plan;
    const { video, audio } = this.snapshot;
    if (audio) {
      if (plan.publish.microphone && audio.isMuted) {
        await audio.unmute();
      } else if (!plan.publish.microphone && !audio.isMuted) {
        await audio.mute();
      }
    }
    if (video) {
      if (!plan.publish.camera && !video.isMuted) {
        // Muting a camera track stops the capture device too: the camera light goes off.
        await video.mute();
      } else if (plan.publish.camera && video.isMuted) {
        await video.unmute();
      }
      if (previous && previous.capture.top.fps !== plan.capture.top.fps && plan.publish.camera) {
        await video.restartTrack({
          facingMode: this.snapshot.facing,
          resolution: { width: plan.capture.top.width, height: plan.capture.top.height, frameRate: plan.capture.top.fps },
        });
      }
    }
    this.update({});
  }

  async flip(): Promise<void> {
    const { video, facing } = this.snapshot;
    const next: Facing = facing === 'user' ? 'environment' : 'user';
    if (video && this.plan) {
      const { top } = this.plan.capture;
      await video.restartTrack({ facingMode: next, resolution: { width: top.width, height: top.height, frameRate: top.fps } });
    }
    this.update({ facing: next });
  }

  async stop(): Promise<void> {
    const room = this.room;
    this.room = null;
    this.published = false;
    this.snapshot.video?.stop();
    this.snapshot.audio?.stop();
    this.update({ video: null, audio: null, connection: 'idle' });
    if (room) {
      await room.disconnect();
    }
    this.listeners.clear();
  }

  private update(change: Partial<MediaSnapshot>): void {
    this.snapshot = { ...this.snapshot, ...change };
    for (const listener of this.listeners) {
      listener(this.snapshot);
    }
  }
}
