/**
 * The typed API client: openapi-fetch over the types generated from the server's OpenAPI
 * schema (schema.d.ts, `make mobile-schema`). Every request carries a fresh bearer token;
 * a 401 refreshes once and replays the request, and a failed refresh signs the session out.
 */
import createClient, { type Client, type Middleware } from 'openapi-fetch';

import type { AuthSession } from '@/auth/session';

import type { paths } from './schema';

export type Api = Client<paths>;

export function authMiddleware(session: AuthSession): Middleware {
  const replayable = new WeakMap<Request, Request>();
  return {
    async onRequest({ request }) {
      const token = await session.accessToken();
      if (token) {
        request.headers.set('Authorization', `Bearer ${token}`);
      }
      replayable.set(request, request.clone());
      return request;
    },
    async onResponse({ request, response }) {
      if (response.status !== 401) {
        return response;
      }
      const copy = replayable.get(request);
      if (!copy || !(await session.refresh())) {
        return response;
      }
      const token = await session.accessToken();
      if (!token) {
        return response;
      }
      copy.headers.set('Authorization', `Bearer ${token}`);
      return fetch(copy);
    },
  };
}

export function createApi(session: AuthSession, baseUrl: string): Api {
  const api = createClient<paths>({ baseUrl });
  api.use(authMiddleware(session));
  return api;
}

/** A client without credentials, for guests (the invite token is their credential). */
export function createPublicApi(baseUrl: string): Api {
  return createClient<paths>({ baseUrl });
}
