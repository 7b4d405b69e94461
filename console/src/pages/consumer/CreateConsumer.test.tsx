import { cleanup, fireEvent, render, screen, waitFor } from '@testing-library/preact';
import { LocationProvider } from 'preact-iso';
import { afterEach, beforeEach, expect, it, vi } from 'vitest';
import { connectApi } from '../../lib/api';
import CreateConsumer from './CreateConsumer';

const problem = {
  type: 'https://tributary.dev/problems/invalid-request',
  title: 'Invalid request',
  status: 400,
  detail: 'DatasetConfiguration.Schema[0].Type: tinyint has no Iceberg type',
  errors: [{ Field: 'DatasetConfiguration.Schema[0].Type', Message: 'tinyint has no Iceberg type' }],
};

let sent: Record<string, unknown> | undefined;

beforeEach(() => {
  sent = undefined;
  vi.stubGlobal('fetch', async (request: Request) => {
    const path = new URL(request.url).pathname;
    const json = (body: unknown, status = 200, type = 'application/json') => new Response(JSON.stringify(body), { status, headers: { 'content-type': type } });
    if (request.method === 'POST') {
      sent = await request.json();
      return json(problem, 400, 'application/problem+json');
    }
    if (path === '/streams/s1') return json({ StreamId: 's1', StreamName: 'trades' });
    if (path === '/streams/s1/transforms') return json({ Transforms: [], NextToken: null });
    return json({ Datasets: [], NextToken: null });
  });
  connectApi('http://api.test');
});
afterEach(() => {
  cleanup();
  vi.unstubAllGlobals();
});

const options = (label: string) => [...(screen.getByLabelText(label) as HTMLSelectElement).options].map((o) => o.value);

it('offers Iceberg for Athena and Lake Formation datasets only, with its hint', async () => {
  render(
    <LocationProvider>
      <CreateConsumer streamId="s1" />
    </LocationProvider>,
  );
  await waitFor(() => expect(screen.getByLabelText('File Type')).toBeTruthy());
  expect(options('File Type')).toEqual(['csv', 'parquet', 'iceberg']);
  fireEvent.change(screen.getByLabelText('File Type'), { target: { value: 'iceberg' } });
  expect(document.getElementById('file-type-help')!.textContent).toContain('An Apache Iceberg table');
  fireEvent.change(screen.getByLabelText('Target Location'), { target: { value: 'lakeformation' } });
  expect(options('File Type')).toContain('iceberg');
  expect((screen.getByLabelText('File Type') as HTMLSelectElement).value).toBe('iceberg');
  for (const target of ['redshift', 's3']) {
    fireEvent.change(screen.getByLabelText('Target Location'), { target: { value: target } });
    expect(options('File Type')).not.toContain('iceberg');
    expect((screen.getByLabelText('File Type') as HTMLSelectElement).value).toBe('csv');
  }
});

it('asks an Iceberg dataset for a schema and sends no compression or partitioning', async () => {
  render(
    <LocationProvider>
      <CreateConsumer streamId="s1" />
    </LocationProvider>,
  );
  await waitFor(() => expect(screen.getByLabelText('File Type')).toBeTruthy());
  expect(screen.queryByLabelText('Compression')).not.toBeNull();
  expect(screen.queryByLabelText('Partition keys')).not.toBeNull();
  fireEvent.input(screen.getByLabelText('Consumer Name'), { target: { value: 'to-iceberg' } });
  fireEvent.input(screen.getByLabelText('Dataset Name'), { target: { value: 'trades_ice' } });
  fireEvent.input(screen.getByLabelText('Domain'), { target: { value: 'finance' } });
  fireEvent.change(screen.getByLabelText('File Type'), { target: { value: 'iceberg' } });
  expect(screen.queryByLabelText('Compression')).toBeNull();
  expect(screen.queryByLabelText('Parquet compression')).toBeNull();
  expect(screen.queryByLabelText('Partition keys')).toBeNull();
  fireEvent.input(screen.getByLabelText('Schema'), { target: { value: 'ticker tinyint\ntraded_at timestamp' } });
  fireEvent.click(screen.getByRole('button', { name: 'Create consumer' }));

  await waitFor(() => expect(screen.getByLabelText('Schema').getAttribute('aria-invalid')).toBe('true'));
  expect(document.getElementById('schema-error')!.textContent).toBe('tinyint has no Iceberg type');
  expect(sent).toEqual({
    ConsumerName: 'to-iceberg',
    BufferSize: 5,
    BufferInterval: 300,
    TargetLocation: 's3athena',
    CreateDataset: true,
    DatasetConfiguration: {
      DatasetName: 'trades_ice',
      Domain: 'finance',
      FileType: 'iceberg',
      Schema: [
        { Name: 'ticker', Type: 'tinyint' },
        { Name: 'traded_at', Type: 'timestamp' },
      ],
    },
  });
});
