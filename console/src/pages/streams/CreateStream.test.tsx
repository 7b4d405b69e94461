import { fireEvent, render, screen, waitFor } from '@testing-library/preact';
import { LocationProvider } from 'preact-iso';
import { afterEach, beforeEach, expect, it, vi } from 'vitest';
import { connectApi } from '../../lib/api';
import { CreateStream } from './CreateStream';

const problem = {
  type: 'https://tributary.dev/problems/invalid-request',
  title: 'Invalid request',
  status: 400,
  detail: 'StreamName may contain only letters…; DataRetentionPeriod must be between 24 and 8760',
  errors: [
    { Field: 'StreamName', Message: "may contain only letters, digits, '_', '.' and '-'" },
    { Field: 'DataRetentionPeriod', Message: 'must be between 24 and 8760' },
    { Field: 'Tags', Message: 'must be an object of strings' },
  ],
};

let sent: unknown;

beforeEach(() => {
  vi.stubGlobal('fetch', async (request: Request) => {
    sent = await request.json();
    return new Response(JSON.stringify(problem), { status: 400, headers: { 'content-type': 'application/problem+json' } });
  });
  connectApi('http://api.test');
});
afterEach(() => vi.unstubAllGlobals());

it("shows each of the API's messages beside the field it names, the rest in the alert", async () => {
  render(
    <LocationProvider>
      <CreateStream />
    </LocationProvider>,
  );
  fireEvent.input(screen.getByLabelText('Stream Name'), { target: { value: 'bad name!' } });
  fireEvent.input(screen.getByLabelText('Data Retention Period (Hrs)'), { target: { value: '5' } });
  fireEvent.click(screen.getByRole('button', { name: 'Create stream' }));

  await waitFor(() => expect(screen.getByLabelText('Stream Name').getAttribute('aria-invalid')).toBe('true'));
  const name = screen.getByLabelText('Stream Name');
  const described = name.getAttribute('aria-describedby')!.split(' ').map((id) => document.getElementById(id)!.textContent);
  expect(described).toContain("may contain only letters, digits, '_', '.' and '-'");
  expect(document.getElementById('retention-error')!.textContent).toBe('must be between 24 and 8760');
  expect(screen.getByRole('alert').textContent).toContain('Tags: must be an object of strings');
  expect(document.getElementById('shards-error')).toBeNull();
  expect(sent).toEqual({ StreamName: 'bad name!', StreamType: 'Kinesis', StreamMode: 'PROVISIONED', DataRetentionPeriod: 5, ShardCount: 1 });
});
