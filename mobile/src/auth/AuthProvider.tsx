import { createContext, type ReactNode, useContext, useEffect, useMemo, useState } from 'react';

import { type Api, createApi } from '@/api/client';

import { AuthSession, type SessionState } from './session';

interface AuthValue {
  session: AuthSession;
  state: SessionState;
  /** The typed API client of the signed-in host (null when signed out). */
  api: Api | null;
}

const AuthContext = createContext<AuthValue | null>(null);

export function AuthProvider({ children, session: given }: { children: ReactNode; session?: AuthSession }) {
  const [session] = useState(() => given ?? new AuthSession());
  const [state, setState] = useState<SessionState>(session.getState());
  useEffect(() => {
    const unsubscribe = session.subscribe(setState);
    if (session.getState().status === 'restoring') {
      void session.restore();
    }
    return () => {
      unsubscribe();
      if (!given) {
        session.dispose(); // its refresh timer must not outlive the app
      }
    };
  }, [session, given]);
  const server = state.status === 'signed-in' ? state.server : null;
  const api = useMemo(() => (server ? createApi(session, server) : null), [session, server]);
  const value = useMemo(() => ({ session, state, api }), [session, state, api]);
  return <AuthContext.Provider value={value}>{children}</AuthContext.Provider>;
}

export function useAuth(): AuthValue {
  const value = useContext(AuthContext);
  if (!value) {
    throw new Error('useAuth outside AuthProvider');
  }
  return value;
}

/** The API client of a screen that is only reachable signed in (the (host) layout guarantees it). */
export function useApi(): Api {
  const { api } = useAuth();
  if (!api) {
    throw new Error('useApi while signed out');
  }
  return api;
}
