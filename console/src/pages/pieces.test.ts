import { describe, expect, it } from 'vitest';
import { worstHealth } from './streams/StreamActivity';
import { boto3Snippet } from './stream/boto3-snippet';
import { parseSchema, schemaText } from './consumer/schema-text';
import { appendsToIceberg, fileTypeHint, fileTypesFor, parsePartitionKeys } from './consumer/CreateConsumer';
import { stashCode, stashedCode, forgetCode } from './transform/code-stash';

describe("a stream's health in the list", () => {
  it('is its consumers’ worst, or none without consumers', () => {
    expect(worstHealth([])).toBeNull();
    expect(worstHealth(['HEALTHY', 'IDLE'])).toBe('IDLE');
    expect(worstHealth(['HEALTHY', 'FAILED', 'DEGRADED'])).toBe('FAILED');
  });
});

describe('the boto3 snippet', () => {
  const credentials = { AccessKeyId: 'AKIAEXAMPLE', SecretAccessKey: "se'cr\\et", Region: 'us-east-1', StreamName: 'my-stream-1a2b', StreamARN: null, Endpoint: 'http://127.0.0.1:4566' };
  it("is the seed's script with the key, region, endpoint and stream filled in, quoted for Python", () => {
    const script = boto3Snippet(credentials);
    expect(script).toContain("boto3.client('kinesis', region_name='us-east-1', endpoint_url='http://127.0.0.1:4566',");
    expect(script).toContain("aws_access_key_id='AKIAEXAMPLE', aws_secret_access_key='se\\'cr\\\\et'");
    expect(script).toContain("StreamName='my-stream-1a2b'");
    expect(script).toContain("with open('./data.csv', encoding='utf-8') as csvf:");
    expect(script).toContain('PartitionKey=str(hash(line))');
  });
});

describe('dataset schema text', () => {
  it('reads "name type" lines, skipping blanks and comments', () => {
    expect(parseSchema('company string\n\n# money\nprice: decimal(10,2)\nsector')).toEqual([
      { Name: 'company', Type: 'string' },
      { Name: 'price', Type: 'decimal(10,2)' },
      { Name: 'sector', Type: 'string' },
    ]);
    expect(schemaText([{ Name: 'a', Type: 'int' }])).toBe('a int');
  });
  it("offers the seed's file types per target", () => {
    expect(fileTypesFor('s3').map((f) => f.value)).toEqual(['csv', 'others']);
    expect(fileTypesFor('redshift').map((f) => f.value)).toEqual(['csv', 'parquet']);
  });
  it('offers Iceberg tables where the Glue catalog holds them, with a hint', () => {
    expect(fileTypesFor('s3athena').map((f) => f.value)).toEqual(['csv', 'parquet', 'iceberg']);
    expect(fileTypesFor('lakeformation').map((f) => f.value)).toEqual(['csv', 'parquet', 'iceberg']);
    expect([appendsToIceberg('s3athena', 'ICEBERG'), appendsToIceberg('lakeformation', 'iceberg'), appendsToIceberg('s3', 'iceberg'), appendsToIceberg('s3athena', 'parquet')]).toEqual([true, true, false, false]);
    expect(fileTypeHint('iceberg')).toBe('An Apache Iceberg table: snapshots, schema evolution; records are JSON objects matched to columns by name; timestamps in microseconds.');
    expect(fileTypeHint('csv')).toBeUndefined();
  });
});

describe("a transform's code kept in the tab", () => {
  it('remembers the code last saved for a transform, and forgets it', () => {
    sessionStorage.clear();
    expect(stashedCode('t1')).toBeNull();
    stashCode('t1', 'def f(): pass', 3);
    expect(stashedCode('t1')).toEqual({ code: 'def f(): pass', version: 3 });
    forgetCode('t1');
    expect(stashedCode('t1')).toBeNull();
    expect(localStorage.length).toBe(0);
  });
});

describe('partition keys typed in the consumer form', () => {
  it('reads “name = query” lines, a bare name querying its own member', () => {
    expect(parsePartitionKeys('sector = .sector\n\n day = .ts | strftime("%Y-%m-%d") \nregion')).toEqual([
      { Name: 'sector', Query: '.sector' },
      { Name: 'day', Query: '.ts | strftime("%Y-%m-%d")' },
      { Name: 'region', Query: '.region' },
    ]);
    expect(parsePartitionKeys('  ')).toEqual([]);
  });
});
