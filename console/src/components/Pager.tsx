/** Previous/next over the server's pages (NextToken); the list says how many it shows. */
export function Pager({ shown, hasPrevious, nextToken, onPrevious, onNext, noun }: {
  shown: number;
  hasPrevious: boolean;
  nextToken: string | null | undefined;
  onPrevious: () => void;
  onNext: (token: string) => void;
  noun: string;
}) {
  const counted = `${shown} ${shown === 1 ? noun.replace(/s$/, '') : noun}`;
  if (!hasPrevious && !nextToken) return <p class="pager muted">{counted}</p>;
  return (
    <nav class="pager" aria-label={`Pages of ${noun}`}>
      <span class="muted">{`${counted} on this page`}</span>
      <button type="button" class="button small" disabled={!hasPrevious} onClick={onPrevious}>
        Previous page
      </button>
      <button type="button" class="button small" disabled={!nextToken} onClick={() => nextToken && onNext(nextToken)}>
        Next page
      </button>
    </nav>
  );
}
