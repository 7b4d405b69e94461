import { describe, expect, it } from 'vitest';
import { ApiError } from './api';
import { mapFieldErrors } from './field-errors';
import { CONSUMER_FIELDS } from '../pages/consumer/CreateConsumer';

const problem = (errors: { Field: string; Message: string }[], detail = 'Invalid request') =>
  new ApiError(400, { type: 'about:blank', title: 'Invalid request', status: 400, detail, errors });

describe('mapFieldErrors', () => {
  const streamFields = { StreamName: 'name', DataRetentionPeriod: 'retention', ShardCount: 'shards' } as const;

  it('puts each message beside the field its member names', () => {
    const mapped = mapFieldErrors(
      problem([
        { Field: 'StreamName', Message: "may contain only letters, digits, '_', '.' and '-'" },
        { Field: 'DataRetentionPeriod', Message: 'must be between 24 and 8760' },
      ]),
      streamFields,
    );
    expect(mapped.byField).toEqual({ name: ["may contain only letters, digits, '_', '.' and '-'"], retention: ['must be between 24 and 8760'] });
    expect(mapped.general).toEqual([]);
  });

  it('keeps several messages for one field', () => {
    const mapped = mapFieldErrors(problem([{ Field: 'ShardCount', Message: 'a' }, { Field: 'ShardCount', Message: 'b' }]), streamFields);
    expect(mapped.byField.shards).toEqual(['a', 'b']);
  });

  it('maps nested members such as DatasetConfiguration.DatasetName', () => {
    const mapped = mapFieldErrors(
      problem([
        { Field: 'DatasetConfiguration.DatasetName', Message: 'must be 3 to 120 characters' },
        { Field: 'DatasetConfiguration.Redshift.SecretId', Message: 'no such secret' },
        { Field: 'ConsumerName', Message: 'is required' },
      ]),
      CONSUMER_FIELDS,
    );
    expect(mapped.byField).toEqual({ datasetName: ['must be 3 to 120 characters'], secretId: ['no such secret'], name: ['is required'] });
  });

  it('sends a member deeper than the form knows to its nearest mapped parent, and array items to their array', () => {
    const mapped = mapFieldErrors(
      problem([
        { Field: 'DatasetConfiguration.Schema[1].Type', Message: 'unknown type' },
        { Field: 'DatasetConfiguration.Schema.0.Name', Message: 'repeated' },
      ]),
      CONSUMER_FIELDS,
    );
    expect(mapped.byField.schema).toEqual(['unknown type', 'repeated']);
  });

  it('puts members the form does not show into the general alert, named', () => {
    const mapped = mapFieldErrors(problem([{ Field: 'Tags', Message: 'must be an object of strings' }]), streamFields);
    expect(mapped.byField).toEqual({});
    expect(mapped.general).toEqual(['Tags: must be an object of strings']);
  });

  it("uses the problem's detail when it names no field (409, 412 …)", () => {
    const conflict = new ApiError(409, { status: 409, title: 'Conflict', detail: 'A stream named trades already exists', errors: [] });
    expect(mapFieldErrors(conflict, streamFields)).toEqual({ byField: {}, general: ['A stream named trades already exists'] });
  });

  it("uses API Gateway's message for a refusal without a problem document", () => {
    expect(mapFieldErrors(new ApiError(401, { message: 'Unauthorized' }), streamFields).general).toEqual(['Unauthorized']);
  });

  it('reports any other failure in the general alert', () => {
    expect(mapFieldErrors(new Error('network down'), streamFields).general).toEqual(['network down']);
  });
});
