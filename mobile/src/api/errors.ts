/** Turn an API error body into one sentence a person can read. */

export class ApiError extends Error {
  constructor(
    message: string,
    readonly status: number,
  ) {
    super(message);
    this.name = 'ApiError';
  }
}

const FALLBACK: Record<number, string> = {
  400: 'The server did not accept that.',
  401: 'Please sign in again.',
  403: 'You are not allowed to do that.',
  404: 'Not found: it may have been deleted.',
  409: 'That cannot be done right now.',
  410: 'This link is no longer valid.',
  429: 'Too many attempts; wait a little and try again.',
};

/**
 * DRF answers `{"detail": "..."}` or `{"field": ["message", ...], ...}`; either becomes a sentence
 * (field errors are prefixed with the field's name, except for non_field_errors).
 */
export function errorMessage(body: unknown, status: number): string {
  if (body && typeof body === 'object') {
    const record = body as Record<string, unknown>;
    if (typeof record.detail === 'string' && record.detail) {
      return record.detail;
    }
    const parts: string[] = [];
    for (const [field, value] of Object.entries(record)) {
      const messages = Array.isArray(value) ? value.filter((v) => typeof v === 'string') : [];
      if (typeof value === 'string') {
        messages.push(value);
      }
      for (const message of messages) {
        parts.push(field === 'non_field_errors' ? message : `${field.replace(/_/g, ' ')}: ${message}`);
      }
    }
    if (parts.length) {
      return parts.join(' ');
    }
  }
  return FALLBACK[status] ?? `The server answered ${status}.`;
}

/** Unwrap an openapi-fetch result: the data, or an ApiError with the server's message. */
export function unwrap<T>(result: { data?: T; error?: unknown; response: Response }): T {
  if (result.error !== undefined || !result.response.ok) {
    throw new ApiError(errorMessage(result.error, result.response.status), result.response.status);
  }
  return result.data as T;
}

export function describeError(error: unknown): string {
  if (error instanceof ApiError) {
    return error.message;
  }
  if (error instanceof TypeError) {
    // fetch rejects with a TypeError when the server cannot be reached at all.
    return 'Cannot reach the server. Check the address and your connection.';
  }
  return error instanceof Error ? error.message : String(error);
}

/**
 * The items of a list answer. The server pages its lists (`{count, next, previous, results}`);
 * accepting a bare array too keeps the app working with a schema that does not say so yet.
 */
export function results<T>(data: T[] | { results: T[] }): T[] {
  return Array.isArray(data) ? data : data.results;
}
