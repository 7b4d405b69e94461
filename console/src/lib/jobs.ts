/** A job followed live: polled every second until it ends. */
import { api, call, type Job } from './api';
import { useQuery } from './use-query';

export function isFinished(job: Pick<Job, 'Status'> | undefined): boolean {
  return job?.Status === 'SUCCEEDED' || job?.Status === 'FAILED';
}

export function useJob(jobId: string | null | undefined) {
  // Polled until it ends: a finished job never changes again.
  return useQuery(jobId ? `job:${jobId}` : null, () => call(api.GET('/jobs/{JobId}', { params: { path: { JobId: jobId! } } })), (job) =>
    isFinished(job) ? null : 1000,
  );
}

/** Resources in one of these states are being changed by a job: poll them faster. */
export function isTransitional(status: string | undefined): boolean {
  return status === 'CREATING' || status === 'UPDATING' || status === 'DELETING';
}

/** The operation as a person would say it. */
export function describeOperation(operation: string): string {
  const words: Record<string, string> = {
    REDRIVE: 'Redrive',
    REPLAY: 'Replay',
    SCALE: 'Scale shards',
    RotateStreamCredentials: 'Rotate producer key',
    RevokeStreamCredentials: 'Revoke producer key',
  };
  return words[operation] ?? operation.replace(/([a-z])([A-Z])/g, '$1 $2');
}
