import { render } from '@testing-library/react-native';
import type { ReactElement } from 'react';
import { SafeAreaProvider } from 'react-native-safe-area-context';

import { AuthProvider } from '@/auth/AuthProvider';
import { AuthSession } from '@/auth/session';

import { SERVER, USER, fakeServer, jwt } from './fakeServer';

const METRICS = { frame: { x: 0, y: 0, width: 390, height: 844 }, insets: { top: 0, left: 0, right: 0, bottom: 0 } };

/** Render a screen inside the app's providers, with `session` (signed out unless given). */
export async function renderScreen(screen: ReactElement, session: AuthSession = new AuthSession()) {
  return render(
    <SafeAreaProvider initialMetrics={METRICS}>
      <AuthProvider session={session}>{screen}</AuthProvider>
    </SafeAreaProvider>,
  );
}

/** A session signed in to SERVER against a fake login; the server's other routes are `routes`. */
export async function signedIn(routes: Parameters<typeof fakeServer>[0] = {}) {
  const server = fakeServer({
    'POST /api/v1/auth/login': () => ({
      body: { user: USER, access: jwt(Math.floor(Date.now() / 1000) + 300), refresh: 'refresh-1' },
    }),
    ...routes,
  });
  const session = new AuthSession();
  await session.signIn(SERVER, USER.email, 'password');
  return { server, session };
}
