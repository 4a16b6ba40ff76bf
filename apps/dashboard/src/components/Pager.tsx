/** Previous/next over a cursor-paged list (the APIs page by cursor; the page stack lives in the caller). */
export function Pager({ page, hasPrevious, hasNext, onPrevious, onNext, label }: { page: number; hasPrevious: boolean; hasNext: boolean; onPrevious(): void; onNext(): void; label: string }) {
  return (
    <nav className="pager" aria-label={`${label} pages`}>
      <button type="button" onClick={onPrevious} disabled={!hasPrevious}>
        ← Previous
      </button>
      <span aria-live="polite">Page {page}</span>
      <button type="button" onClick={onNext} disabled={!hasNext}>
        Next →
      </button>
    </nav>
  );
}
