import { cleanup, render, screen, waitFor } from '@testing-library/preact';
import { LocationProvider } from 'preact-iso';
import { afterEach, expect, it, vi } from 'vitest';
import { connectApi, type Dataset } from '../../lib/api';
import DatasetPage from './DatasetPage';

const base: Dataset = {
  DatasetId: 'd1',
  DatasetName: 'trades_ice',
  Domain: 'finance',
  TargetLocation: 's3athena',
  FileType: 'iceberg',
  Description: '',
  Schema: [{ Name: 'ticker', Type: 'string' }],
  Location: 's3://bucket/datasets/d1/',
  ErrorLocation: 's3://bucket/errors/d1/',
  GlueDatabase: 'tributary_dev_finance',
  GlueTable: 'trades_ice',
  Redshift: null,
  ConsumerIds: [],
  SchemaEvolution: 'NONE',
  SchemaDrift: null,
  Status: 'ACTIVE',
  StatusReason: null,
  CreatedAt: '2026-01-05T09:10:00Z',
  LastModifiedAt: '2026-01-05T09:10:20Z',
  Version: 2,
  Drift: null,
} as Dataset;

const METADATA = 's3://bucket/datasets/d1/metadata/00002-abc.metadata.json';

function serve(dataset: Dataset) {
  vi.stubGlobal('fetch', async (request: Request) => {
    const path = new URL(request.url).pathname;
    const body = path === `/datasets/${dataset.DatasetId}` ? dataset : { Jobs: [], NextToken: null };
    return new Response(JSON.stringify(body), { status: 200, headers: { 'content-type': 'application/json' } });
  });
  connectApi('http://api.test');
  render(
    <LocationProvider>
      <DatasetPage datasetId={dataset.DatasetId} />
    </LocationProvider>,
  );
}

/** The `dd` beside a `dt` of that text. */
function fact(term: string): string | null | undefined {
  const dt = [...document.querySelectorAll('dt')].find((d) => d.textContent === term);
  return dt?.nextElementSibling?.textContent;
}

afterEach(() => {
  cleanup();
  vi.unstubAllGlobals();
});

it("shows an Iceberg dataset's table: format, snapshots, data files, records and metadata location", async () => {
  serve({ ...base, Table: { Format: 'ICEBERG', FormatVersion: 2, MetadataLocation: METADATA, SchemaId: 1, SnapshotCount: 3, DataFiles: 2, Records: 250 } });
  await waitFor(() => expect(screen.getByRole('heading', { level: 2, name: 'Table' })).toBeTruthy());
  expect(fact('File Type')).toBe('ICEBERG');
  expect(fact('Format')).toBe('ICEBERG v2');
  expect(fact('Snapshots')).toBe('3');
  expect(fact('Data files')).toBe('2');
  expect(fact('Records')).toBe('250');
  expect(fact('Schema id')).toBe('1');
  expect(fact('Metadata location')).toContain(METADATA);
  expect(screen.queryByText(/Empty: the first buffer/)).toBeNull();
  cleanup();

  serve({ ...base, DatasetId: 'd4', Table: { Format: 'ICEBERG', FormatVersion: 2, MetadataLocation: METADATA, SchemaId: 0, SnapshotCount: 0, DataFiles: 0, Records: 0 } });
  await waitFor(() => expect(fact('Snapshots')).toBe('0'));
  expect(screen.getByText(/Empty: the first buffer a consumer delivers is the table's first snapshot/)).toBeTruthy();
});

it('says why the table could not be read, or that it has no metadata yet', async () => {
  serve({ ...base, TableError: 'glue:GetTable: AccessDeniedException' });
  const section = () => screen.getByRole('heading', { level: 2, name: 'Table' }).closest('section')!;
  await waitFor(() => expect(section().textContent).toContain('The table could not be read'));
  expect(section().textContent).toContain('glue:GetTable: AccessDeniedException');
  expect(fact('Snapshots')).toBeUndefined();
  cleanup();

  serve({ ...base, DatasetId: 'd3', Table: null });
  await waitFor(() => expect(section().textContent).toContain('No table metadata'));
  expect(fact('Snapshots')).toBeUndefined();
});

it('shows no table for datasets of other file types', async () => {
  serve({ ...base, DatasetId: 'd2', FileType: 'parquet' });
  await waitFor(() => expect(screen.getByRole('heading', { level: 2, name: 'Schema' })).toBeTruthy());
  expect(screen.queryByRole('heading', { level: 2, name: 'Table' })).toBeNull();
});
