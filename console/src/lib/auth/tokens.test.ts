import { beforeEach, describe, expect, it } from 'vitest';
import { claimsOf, needsRefresh, tokenStore } from './tokens';

describe('token storage', () => {
  beforeEach(() => {
    sessionStorage.clear();
    localStorage.clear();
  });

  it('keeps the session in sessionStorage only, never localStorage', () => {
    const store = tokenStore();
    store.save({ kind: 'signin', accessToken: 'a', refreshToken: 'r', expiresAt: 1 });
    expect(store.load()).toEqual({ kind: 'signin', accessToken: 'a', refreshToken: 'r', expiresAt: 1 });
    expect(localStorage.length).toBe(0);
    expect(sessionStorage.length).toBe(1);
  });

  it('forgets the session on clear', () => {
    const store = tokenStore();
    store.save({ kind: 'token', accessToken: 'dev-token' });
    store.clear();
    expect(store.load()).toBeNull();
    expect(sessionStorage.length).toBe(0);
  });

  it('reads a damaged or empty entry as no session', () => {
    sessionStorage.setItem('tributary.session', '{not json');
    expect(tokenStore().load()).toBeNull();
    sessionStorage.setItem('tributary.session', JSON.stringify({ kind: 'token', accessToken: '' }));
    expect(tokenStore().load()).toBeNull();
  });
});

describe('needsRefresh', () => {
  it('asks for a refresh a minute before expiry, never for a static token', () => {
    const now = 1_000_000;
    expect(needsRefresh({ kind: 'signin', accessToken: 'a', expiresAt: now + 120_000 }, now)).toBe(false);
    expect(needsRefresh({ kind: 'signin', accessToken: 'a', expiresAt: now + 30_000 }, now)).toBe(true);
    expect(needsRefresh({ kind: 'signin', accessToken: 'a', expiresAt: now - 1 }, now)).toBe(true);
    expect(needsRefresh({ kind: 'token', accessToken: 'dev-token' }, now)).toBe(false);
  });
});

describe('claimsOf', () => {
  it("reads a JWT's payload (base64url, UTF-8)", () => {
    const utf8 = new TextEncoder().encode(JSON.stringify({ tenant: 'dév', 'cognito:username': 'dev' }));
    const payload = btoa(String.fromCharCode(...utf8)).replace(/\+/g, '-').replace(/\//g, '_').replace(/=+$/, '');
    expect(claimsOf(`h.${payload}.s`)).toEqual({ tenant: 'dév', 'cognito:username': 'dev' });
  });
  it('answers nothing for what is not a JWT', () => {
    expect(claimsOf('dev-token')).toEqual({});
    expect(claimsOf(undefined)).toEqual({});
  });
});
