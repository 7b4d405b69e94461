import { formatTime, showUtc } from '../lib/time';

/** A time in the zone the user chose (local or UTC); the exact instant on hover. */
export function Time({ value }: { value: string | null | undefined }) {
  if (!value) return <span class="muted">—</span>;
  return (
    <time dateTime={value} title={value}>
      {formatTime(value, showUtc.value)}
    </time>
  );
}
