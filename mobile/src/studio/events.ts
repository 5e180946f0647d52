/**
 * The studio websocket's events (server → client) as the app uses them, and a pure reducer
 * that folds them into one state. The protocol is the server's studio consumer
 * (ws/studio/<id>/, see its module docstring): `state.full` on connect, then partial updates.
 */

export type Role = 'host' | 'moderator' | 'guest';

export interface Participant {
  id: string;
  guest_id: number | null;
  name: string;
  role: Role;
  on_stage: boolean;
  audio: boolean;
  video: boolean;
  online?: boolean;
}

export interface StreamInfo {
  id: number;
  title: string;
  status: string;
  started_at: string | null;
  ended_at: string | null;
  layout?: string;
}

export interface DestinationHealth {
  state?: string;
  bitrate_kbps?: number;
  fps?: number;
  reconnects?: number;
  last_error?: string;
}

export interface StudioDestination {
  id: number;
  name: string;
  platform: string;
  enabled: boolean;
  status: string;
  health: DestinationHealth;
}

export interface ChatMessage {
  id: string;
  author: string;
  role: string;
  text: string;
  at: string;
}

export interface Scene {
  layout?: string;
  banner_text?: string;
  overlays?: Record<string, boolean>;
  host_on_stage?: boolean;
  host_muted?: boolean;
  [key: string]: unknown;
}

export interface StudioState {
  role: Role;
  you: Participant | null;
  stream: StreamInfo;
  participants: Participant[];
  scene: Scene;
  /** The server's version of `scene` (apps/studio/scene.py scene_snapshot): an older scene never replaces it. */
  sceneVersion: number | null;
  destinations: StudioDestination[];
  chat: ChatMessage[];
  /** Set when the server ended this client's session (removed, invite revoked). */
  ended: string | null;
}

export type StudioEvent =
  | ({ type: 'state.full' } & Omit<StudioState, 'ended' | 'destinations' | 'chat' | 'sceneVersion'> & {
        destinations?: StudioDestination[];
        chat?: ChatMessage[];
        scene_version?: number;
      })
  | { type: 'participant.joined'; participant: Participant }
  | { type: 'participant.updated'; participant: Partial<Participant> & { id: string } }
  | { type: 'participant.left'; participant: { id: string; guest_id: number | null } }
  | { type: 'scene.changed'; scene: Scene; scene_version?: number }
  | { type: 'stream.status'; stream: Partial<StreamInfo> & { id: number } }
  | { type: 'chat.message'; message: ChatMessage }
  | { type: 'chat.deleted'; message: { id: string } }
  | { type: 'destination.health'; destination: DestinationHealth & { id: number; destination_id?: number } }
  | { type: 'session.ended'; reason: string }
  | { type: 'error'; message: string; ref?: unknown }
  | { type: 'pong' };

const CHAT_KEEP = 100;

/** Fold one event into the state. Unknown events and events before `state.full` change nothing. */
export function applyEvent(state: StudioState | null, event: StudioEvent): StudioState | null {
  if (event.type === 'state.full') {
    // A state asked for before the last scene.changed can arrive after it: its scene is then the older one.
    const keepScene = state !== null && isOlder(event.scene_version, state.sceneVersion);
    return {
      role: event.role,
      you: event.you,
      stream: event.stream,
      participants: event.participants,
      scene: keepScene ? state.scene : (event.scene ?? {}),
      sceneVersion: keepScene ? state.sceneVersion : (event.scene_version ?? null),
      destinations: event.destinations ?? state?.destinations ?? [],
      chat: event.chat ?? [],
      ended: null,
    };
  }
  if (state === null) {
    return null;
  }
  switch (event.type) {
    case 'participant.joined': {
      const others = state.participants.filter((p) => p.id !== event.participant.id);
      return withYou({ ...state, participants: [...others, event.participant] });
    }
    case 'participant.updated': {
      const known = state.participants.some((p) => p.id === event.participant.id);
      if (!known) {
        return state;
      }
      const participants = state.participants.map((p) =>
        p.id === event.participant.id ? { ...p, ...event.participant } : p,
      );
      return withYou({ ...state, participants });
    }
    case 'participant.left':
      return withYou({ ...state, participants: state.participants.filter((p) => p.id !== event.participant.id) });
    case 'scene.changed':
      if (isOlder(event.scene_version, state.sceneVersion)) {
        return state; // a late publish, read before the scene this state has
      }
      return { ...state, scene: event.scene ?? state.scene, sceneVersion: event.scene_version ?? state.sceneVersion };
    case 'stream.status':
      return { ...state, stream: { ...state.stream, ...event.stream } };
    case 'chat.message':
      return { ...state, chat: [...state.chat, event.message].slice(-CHAT_KEEP) };
    case 'chat.deleted':
      return { ...state, chat: state.chat.filter((m) => m.id !== event.message.id) };
    case 'destination.health': {
      const id = event.destination.id ?? event.destination.destination_id;
      const destinations = state.destinations.map((d) =>
        d.id === id ? { ...d, health: { ...d.health, ...event.destination } } : d,
      );
      return { ...state, destinations };
    }
    case 'session.ended':
      return { ...state, ended: event.reason || 'Your session ended.' };
    default:
      return state;
  }
}

/** Whether a scene stamped `version` is older than the one held (unversioned scenes are taken as they come). */
function isOlder(version: number | undefined, held: number | null): boolean {
  return typeof version === 'number' && held !== null && version < held;
}

/** Keep `you` the same object as your row in `participants` (updates arrive for the row). */
function withYou(state: StudioState): StudioState {
  if (!state.you) {
    return state;
  }
  const mine = state.participants.find((p) => p.id === state.you?.id);
  return mine ? { ...state, you: mine } : state;
}

export const onStage = (state: StudioState): Participant[] => state.participants.filter((p) => p.on_stage);
export const backstage = (state: StudioState): Participant[] =>
  state.participants.filter((p) => !p.on_stage && p.role !== 'host');
