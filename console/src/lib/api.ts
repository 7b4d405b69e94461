/**
 * The API client, typed from the OpenAPI document (src/api/schema.d.ts), so the console and
 * the contract cannot drift. Every call goes through `call`, which turns an answer that is
 * not 2xx into an ApiError carrying the problem document.
 */
import createClient, { type Middleware } from 'openapi-fetch';
import type { components, paths } from '../api/schema';
import { accessToken, endSession } from './session';

export type Schemas = components['schemas'];
export type Stream = Schemas['Stream'];
export type Consumer = Schemas['Consumer'];
export type Transform = Schemas['Transform'];
export type Dataset = Schemas['Dataset'];
export type Job = Schemas['Job'];
export type JobRef = Schemas['JobRef'];
export type Problem = Schemas['Problem'];
export type MetricsOverTime = Schemas['MetricsOverTime'];
export type Health = Schemas['Health'];

export class ApiError extends Error {
  constructor(
    readonly status: number,
    readonly problem: Partial<Problem> & { message?: string },
  ) {
    super(problem.detail ?? problem.title ?? problem.message ?? `The API answered ${status}`);
  }
  get notFound(): boolean {
    return this.status === 404;
  }
}

const authorize: Middleware = {
  async onRequest({ request }) {
    const token = await accessToken();
    if (token) request.headers.set('Authorization', `Bearer ${token}`);
    return request;
  },
  async onResponse({ request, response }) {
    // The token was refused (expired and not refreshable, or revoked): sign in again.
    if (response.status === 401) endSession();
    // Past the tenant's request rate: a read is asked again once, when the API says.
    if (response.status === 429 && request.method === 'GET') {
      const seconds = Math.min(5, Math.max(1, Number(response.headers.get('Retry-After')) || 1));
      await new Promise((resolve) => setTimeout(resolve, seconds * 1000));
      return fetch(request);
    }
    return response;
  },
};

export let api = createClient<paths>({ baseUrl: 'http://127.0.0.1:3000' });

export function connectApi(baseUrl: string): void {
  api = createClient<paths>({ baseUrl });
  api.use(authorize);
}

interface Answer<T> {
  data?: T;
  error?: unknown;
  response: Response;
}

/** The data of a 2xx answer, else an ApiError. */
export async function call<T>(request: Promise<Answer<T>>): Promise<T> {
  let answer: Answer<T>;
  try {
    answer = await request;
  } catch (cause) {
    throw new ApiError(0, { detail: `The API could not be reached (${(cause as Error).message}).` });
  }
  if (answer.response.ok) return answer.data as T;
  const body = (answer.error ?? {}) as Partial<Problem> & { message?: string };
  throw new ApiError(answer.response.status, typeof body === 'object' ? body : { detail: String(body) });
}

/** A stream (GET /streams/{id} answers its datasets instead only when asked with request_type). */
export function getStream(streamId: string): Promise<Stream> {
  return call(api.GET('/streams/{StreamId}', { params: { path: { StreamId: streamId } } })) as Promise<Stream>;
}

/** A fresh Idempotency-Key per user action, so a retried click starts no second job. */
export function idempotencyKey(): string {
  return crypto.randomUUID();
}
