/** A delete behind a confirmation: the dialog says what goes, Delete sends the request, and
 * the page follows the deletion's job; a refusal shows the API's words in the dialog. */
import type { ComponentChildren } from 'preact';
import { useState } from 'preact/hooks';
import { useLocation } from 'preact-iso';
import { mapFieldErrors } from '../lib/field-errors';
import { closeDialog, Dialog } from './Dialog';
import { href } from './PageHeader';
import { Alert } from './States';

export function ConfirmDelete({
  title,
  children,
  remove,
  then,
}: {
  title: string;
  children: ComponentChildren;
  /** Sends the DELETE; answers the accepted change with its job. */
  remove: () => Promise<{ Job: { JobId: string } }>;
  /** Where to go once it is accepted (a path under the console), given the job's id. */
  then: (jobId: string) => string;
}) {
  const { route } = useLocation();
  const [problem, setProblem] = useState<string[]>([]);
  const [busy, setBusy] = useState(false);
  const confirm = async () => {
    setBusy(true);
    try {
      const answer = await remove();
      closeDialog();
      route(href(then(answer.Job.JobId)));
    } catch (error) {
      setProblem(mapFieldErrors(error, {}).general);
      setBusy(false);
    }
  };
  return (
    <Dialog title={title}>
      {children}
      <Alert messages={problem} title="Not deleted" />
      <div class="form-actions">
        <button type="button" class="button danger" onClick={confirm} disabled={busy}>
          Delete
        </button>
        <button type="button" class="button" onClick={closeDialog} data-autofocus>
          Cancel
        </button>
      </div>
    </Dialog>
  );
}
