import { useEffect, useReducer, useRef, useState } from 'react';

import { studioSocketUrl } from '@/config';

import { type StudioEvent, type StudioState, applyEvent } from './events';
import { type SocketAuth, type SocketStatus, StudioSocket } from './socket';

export interface StudioConnection {
  state: StudioState | null;
  status: SocketStatus;
  /** The close code when the server closed us for good (4401, 4403, 4404, 4410). */
  closeCode: number | null;
  lastError: string | null;
  /** Fold an event the app learned itself (an API answer) into the state, as if the socket sent it. */
  apply: (event: StudioEvent) => void;
}

function reducer(state: StudioState | null, event: StudioEvent): StudioState | null {
  return applyEvent(state, event);
}

/** Follow a studio over its websocket; `auth` is read once per connection. */
export function useStudio(server: string | null, streamId: number | null, auth: SocketAuth | null): StudioConnection {
  const [state, dispatch] = useReducer(reducer, null);
  const [status, setStatus] = useState<SocketStatus>('connecting');
  const [closeCode, setCloseCode] = useState<number | null>(null);
  const [lastError, setLastError] = useState<string | null>(null);
  const authRef = useRef(auth);
  useEffect(() => {
    authRef.current = auth;
  }, [auth]);
  const ready = Boolean(server && streamId && auth);

  useEffect(() => {
    const socketAuth = authRef.current ?? auth;
    if (!ready || !server || !streamId || !socketAuth) {
      return;
    }
    const socket = new StudioSocket({
      url: studioSocketUrl(server, streamId),
      auth: socketAuth,
      onEvent: (event) => {
        if (event.type === 'error') {
          setLastError(event.message);
        }
        dispatch(event);
      },
      onStatus: (next, code) => {
        setStatus(next);
        if (next === 'closed' && code !== undefined && code >= 4000) {
          setCloseCode(code);
        }
      },
    });
    socket.start();
    return () => socket.stop();
    // A new auth object (same credentials) must not reconnect: it is read once per connection.
    // eslint-disable-next-line react-hooks/exhaustive-deps
  }, [ready, server, streamId]);

  return { state, status, closeCode, lastError, apply: dispatch };
}
