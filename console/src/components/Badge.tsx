/** A resource's Status, Health or a job's Status, shown as its API value. */
const TONES: Record<string, string> = {
  ACTIVE: 'good',
  HEALTHY: 'good',
  SUCCEEDED: 'good',
  Ok: 'good',
  CREATING: 'busy',
  UPDATING: 'busy',
  DELETING: 'busy',
  PENDING: 'busy',
  RUNNING: 'busy',
  EXPIRING: 'warn',
  IDLE: 'quiet',
  Dropped: 'quiet',
  DEGRADED: 'warn',
  STALLED: 'warn',
  CREATE_FAILED: 'bad',
  UPDATE_FAILED: 'bad',
  DELETE_FAILED: 'bad',
  FAILED: 'bad',
  ProcessingFailed: 'bad',
};

export function Badge({ value, title }: { value: string | null | undefined; title?: string }) {
  if (!value) return <span class="muted">—</span>;
  return (
    <span class={`badge tone-${TONES[value] ?? 'quiet'}`} title={title}>
      {value}
    </span>
  );
}
