/** Numbers as people read them. */

export function formatCount(value: number | null | undefined): string {
  if (value === null || value === undefined || !Number.isFinite(value)) return '—';
  return Math.abs(value) >= 100 || Number.isInteger(value) ? Math.round(value).toLocaleString('en-US') : value.toFixed(2);
}

export function formatBytes(value: number | null | undefined): string {
  if (value === null || value === undefined || !Number.isFinite(value)) return '—';
  const units = ['B', 'KiB', 'MiB', 'GiB', 'TiB'];
  let n = value;
  let unit = 0;
  while (Math.abs(n) >= 1024 && unit < units.length - 1) {
    n /= 1024;
    unit += 1;
  }
  return `${unit === 0 ? Math.round(n) : n.toFixed(1)} ${units[unit]}`;
}

export function formatMoney(value: number | null | undefined, currency = 'USD'): string {
  if (value === null || value === undefined || !Number.isFinite(value)) return '—';
  return new Intl.NumberFormat('en-US', { style: 'currency', currency, maximumFractionDigits: value < 10 ? 2 : 0 }).format(value);
}

/** Records over a window as a rate: per second when there are many, else how many. */
export function formatRate(records: number | null | undefined, seconds: number): string {
  if (records === null || records === undefined || !Number.isFinite(records) || seconds <= 0) return '—';
  const perSecond = records / seconds;
  if (perSecond < 0.1) return `${formatCount(records)} record${records === 1 ? '' : 's'}`;
  return `${perSecond < 10 ? perSecond.toFixed(1) : Math.round(perSecond).toLocaleString('en-US')}/s`;
}

export function formatValue(value: number | null | undefined, unit: string): string {
  switch (unit) {
    case 'Bytes':
      return formatBytes(value);
    case 'Percent':
      return value === null || value === undefined ? '—' : `${value.toFixed(1)} %`;
    case 'Seconds':
      return value === null || value === undefined ? '—' : `${formatCount(value)} s`;
    case 'Milliseconds':
      return value === null || value === undefined ? '—' : `${formatCount(value)} ms`;
    default:
      return formatCount(value);
  }
}

/** A unit price keeps its significant digits ($0.015 a shard-hour, $0.0000166667 a GB-second). */
export function formatUnitPrice(value: number, currency = 'USD'): string {
  if (!Number.isFinite(value)) return '—';
  if (value >= 1) return formatMoney(value, currency);
  return `${currency === 'USD' ? '$' : `${currency} `}${Number(value.toPrecision(4))}`;
}
