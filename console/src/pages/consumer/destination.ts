/** Where a consumer's records go: its transform and dataset, named for review steps. */
import { api, call, type Consumer } from '../../lib/api';

export interface Destination {
  transform: string | null;
  dataset: string;
  location: string;
}

export async function destinationOf(streamId: string, consumer: Consumer): Promise<Destination> {
  const [dataset, transform] = await Promise.all([
    call(api.GET('/datasets/{DatasetId}', { params: { path: { DatasetId: consumer.DatasetId } } })).catch(() => null),
    consumer.TransformId
      ? call(api.GET('/streams/{StreamId}/transforms/{TransformId}', { params: { path: { StreamId: streamId, TransformId: consumer.TransformId } } })).catch(() => null)
      : Promise.resolve(null),
  ]);
  return {
    transform: consumer.TransformId ? transform?.FunctionName ?? consumer.TransformId : null,
    dataset: dataset ? `${dataset.Domain}.${dataset.DatasetName}` : consumer.DatasetId,
    location: dataset?.Location ?? '',
  };
}
