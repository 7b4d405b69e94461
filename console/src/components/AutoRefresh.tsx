/** "Auto-refresh every 30 s · updated 10:03:12 · Pause · Refresh now". */
import { formatTime, showUtc } from '../lib/time';

export function AutoRefresh({ seconds, paused, onPause, onRefresh, updatedAt, loading }: {
  seconds: number;
  paused: boolean;
  onPause: (paused: boolean) => void;
  onRefresh: () => void;
  updatedAt: Date | null;
  loading: boolean;
}) {
  return (
    <div class="autorefresh" role="group" aria-label="Auto-refresh">
      <span class={`dot${paused ? '' : ' live'}`} aria-hidden="true" />
      <span>{paused ? 'Auto-refresh paused' : `Auto-refresh every ${seconds} s`}</span>
      {updatedAt && <span class="muted">· updated {formatTime(updatedAt.toISOString(), showUtc.value).split(' ').slice(1).join(' ')}</span>}
      <button type="button" class="button small" aria-pressed={paused} onClick={() => onPause(!paused)}>
        {paused ? 'Resume' : 'Pause'}
      </button>
      <button type="button" class="button small" onClick={onRefresh} disabled={loading}>
        {loading ? 'Refreshing…' : 'Refresh now'}
      </button>
    </div>
  );
}
