import { useEffect, useRef } from 'react';

/**
 * An invoice's HTML (billing renders it) in a modal <dialog>: the frame is sandboxed with no permissions at all,
 * so nothing in the document can run or reach the dashboard's session. Esc and the Close button close it.
 */
export function InvoiceDialog({ title, html, onClose }: { title: string; html: string; onClose(): void }) {
  const ref = useRef<HTMLDialogElement>(null);
  useEffect(() => {
    const d = ref.current;
    if (d && !d.open) d.showModal();
  }, []);
  return (
    <dialog ref={ref} className="invoice-dialog" aria-label={title} onClose={onClose}>
      <div className="dialog-head">
        <h2>{title}</h2>
        <button type="button" onClick={() => ref.current?.close()} autoFocus>
          Close
        </button>
      </div>
      <iframe title={title} sandbox="" srcDoc={html} className="invoice-frame" />
    </dialog>
  );
}
