/**
 * expo-router at its module boundary for screen tests: navigation calls are recorded, route
 * params are set by the test. (The real routes are exercised by the web build end to end.)
 */
import type { ReactNode } from 'react';

export const routerState: { params: Record<string, string>; redirect: string | null } = { params: {}, redirect: null };

export const router = { push: jest.fn(), replace: jest.fn(), back: jest.fn() };

function Stack({ children }: { children?: ReactNode }) {
  return <>{children}</>;
}
Stack.Screen = function Screen() {
  return null;
};

export const expoRouter = {
  router,
  useLocalSearchParams: () => routerState.params,
  Link: ({ children }: { children: ReactNode }) => <>{children}</>,
  Redirect: ({ href }: { href: string }) => {
    routerState.redirect = href;
    return null;
  },
  Stack,
};

export function resetRouter(params: Record<string, string> = {}) {
  routerState.params = params;
  routerState.redirect = null;
  router.push.mockReset();
  router.replace.mockReset();
  router.back.mockReset();
}
