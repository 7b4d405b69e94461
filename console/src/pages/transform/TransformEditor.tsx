/**
 * The transform editor: the seed's attributes (Function Name, Lambda Handler, Memory Size)
 * with runtime and timeout, the code with highlighting, and a test panel once it exists.
 */
import { useEffect, useState } from 'preact/hooks';
import { useLocation } from 'preact-iso';
import { api, ApiError, call, getStream, idempotencyKey, type Schemas, type Transform } from '../../lib/api';
import { mapFieldErrors, noErrors, type FieldErrors } from '../../lib/field-errors';
import { isTransitional } from '../../lib/jobs';
import { useQuery } from '../../lib/use-query';
import { useUrlQuery } from '../../lib/url-state';
import { Badge } from '../../components/Badge';
import { openDialog } from '../../components/Dialog';
import { Field, NumberField, SelectField, TextField } from '../../components/Fields';
import { JobProgress } from '../../components/JobProgress';
import { href, PageHeader } from '../../components/PageHeader';
import { Alert, Empty, ErrorState, Loading } from '../../components/States';
import { CodeEditor } from './CodeEditor';
import { forgetCode, stashCode, stashedCode } from './code-stash';
import { moduleOf } from './module-file';
import { STARTER_CODE, STARTER_MODULE } from './starter';
import { TestPanel } from './TestPanel';
import { ConfirmDelete } from '../../components/ConfirmDelete';

type Runtime = Schemas['Runtime'];
const RUNTIMES: Runtime[] = ['python3.13', 'python3.12', 'python3.11', 'python3.10', 'python3.9'];
type FormField = 'functionName' | 'handler' | 'runtime' | 'memory' | 'timeout' | 'code';
export const TRANSFORM_FIELDS: Record<string, FormField> = {
  FunctionName: 'functionName',
  LambdaHandler: 'handler',
  Runtime: 'runtime',
  MemorySize: 'memory',
  Timeout: 'timeout',
  Code: 'code',
};

export default function TransformEditor({ streamId, transformId }: { streamId: string; transformId?: string }) {
  const stream = useQuery(`stream:${streamId}`, () => getStream(streamId));
  const transform = useQuery(
    transformId ? `transform:${transformId}` : null,
    () => call(api.GET('/streams/{StreamId}/transforms/{TransformId}', { params: { path: { StreamId: streamId, TransformId: transformId! } } })),
    (t) => (t && isTransitional(t.Status) ? 1500 : null),
  );
  const crumbs = [
    { label: 'Streams', href: href('') },
    { label: stream.data?.StreamName ?? 'stream', href: href(`streams/${streamId}?tab=transforms`) },
    { label: transformId ? transform.data?.FunctionName ?? 'transform' : 'New transform' },
  ];
  if (transformId) {
    if (transform.error instanceof ApiError && transform.error.notFound) {
      return (
        <>
          <PageHeader crumbs={crumbs} title="Transform not found" />
          <Empty title="This transform does not exist">
            <a class="button" href={href(`streams/${streamId}?tab=transforms`)}>
              Back to the stream
            </a>
          </Empty>
        </>
      );
    }
    if (transform.error && !transform.data) return <ErrorState error={transform.error} onRetry={transform.reload} />;
    if (!transform.data) return <Loading label="Loading the transform…" />;
  }
  return (
    <>
      <PageHeader crumbs={crumbs} title={transform.data?.FunctionName ?? 'New transform'} badges={transform.data && <Badge value={transform.data.Status} title={transform.data.StatusReason ?? undefined} />} />
      <Editor key={transformId ?? 'new'} streamId={streamId} transform={transform.data} onChanged={transform.reload} />
    </>
  );
}

function Editor({ streamId, transform, onChanged }: { streamId: string; transform?: Transform; onChanged: () => void }) {
  const { route } = useLocation();
  const { query, set } = useUrlQuery();
  const stashed = transform ? stashedCode(transform.TransformId) : null;
  const [functionName, setFunctionName] = useState(transform?.FunctionName ?? '');
  const [handler, setHandler] = useState(transform?.LambdaHandler ?? `${STARTER_MODULE}.lambda_handler`);
  const [runtime, setRuntime] = useState<Runtime>((transform?.Runtime as Runtime) ?? 'python3.12');
  const [memory, setMemory] = useState(String(transform?.MemorySize ?? 128));
  const [timeout, setTimeoutSeconds] = useState(String(transform?.Timeout ?? 60));
  const [code, setCode] = useState(transform ? stashed?.code ?? '' : STARTER_CODE);
  const [savedCode, setSavedCode] = useState(stashed?.code ?? null);
  // The deployed version's code, unless this tab saved it itself: its handler's module.
  const recorded = useQuery(
    transform && !stashed ? `transform-code:${transform.TransformId}:${transform.Version}` : null,
    () => call(api.GET('/streams/{StreamId}/transforms/{TransformId}/code', { params: { path: { StreamId: streamId, TransformId: transform!.TransformId } } })),
  );
  const moduleFile = recorded.data && moduleOf(recorded.data.Files, recorded.data.LambdaHandler);
  useEffect(() => {
    if (moduleFile?.Content != null && savedCode === null) {
      setSavedCode(moduleFile.Content);
      setCode((typed) => (typed === '' ? moduleFile.Content! : typed));
    }
  }, [moduleFile?.Content]);
  const [errors, setErrors] = useState<FieldErrors<FormField>>(noErrors);
  const [busy, setBusy] = useState(false);
  const [saved, setSaved] = useState(false);
  const module = handler.includes('.') ? handler.slice(0, handler.lastIndexOf('.')) : handler;
  const codeChanged = code.trim() !== '' && code !== savedCode;

  const submit = async (event: Event) => {
    event.preventDefault();
    setErrors(noErrors);
    setSaved(false);
    setBusy(true);
    try {
      if (!transform) {
        const accepted = await call(
          api.POST('/streams/{StreamId}/transforms', {
            params: { path: { StreamId: streamId }, header: { 'Idempotency-Key': idempotencyKey() } },
            body: { FunctionName: functionName.trim(), LambdaHandler: handler.trim(), Runtime: runtime, MemorySize: Number(memory), Timeout: Number(timeout), Code: { Inline: code } },
          }),
        );
        stashCode(accepted.TransformId, code, accepted.Version);
        route(href(`streams/${streamId}/transforms/${accepted.TransformId}?job=${accepted.Job.JobId}`));
        return;
      }
      const changes = {
        ...(handler.trim() !== transform.LambdaHandler ? { LambdaHandler: handler.trim() } : {}),
        ...(runtime !== transform.Runtime ? { Runtime: runtime } : {}),
        ...(Number(memory) !== transform.MemorySize ? { MemorySize: Number(memory) } : {}),
        ...(Number(timeout) !== transform.Timeout ? { Timeout: Number(timeout) } : {}),
        ...(codeChanged ? { Code: { Inline: code } } : {}),
      };
      if (Object.keys(changes).length === 0) {
        setErrors({ byField: {}, general: ['Nothing changed.'] });
      } else {
        const accepted = (await call(
          api.PATCH('/streams/{StreamId}/transforms/{TransformId}', {
            params: { path: { StreamId: streamId, TransformId: transform.TransformId }, header: { 'Idempotency-Key': idempotencyKey(), 'If-Match': String(transform.Version) } },
            body: changes,
          }),
        )) as Transform & { Job: { JobId: string } };
        if (codeChanged) {
          stashCode(transform.TransformId, code, accepted.Version);
          setSavedCode(code);
        }
        setSaved(true);
        set({ job: accepted.Job.JobId });
        onChanged();
      }
    } catch (error) {
      setErrors(mapFieldErrors(error, TRANSFORM_FIELDS));
    }
    setBusy(false);
  };

  const locked = transform ? transform.Status !== 'ACTIVE' && transform.Status !== 'UPDATE_FAILED' : false;
  return (
    <div class="editor-layout">
      <form class="form editor-form" onSubmit={submit} noValidate>
        {query.job && <JobProgress jobId={query.job} onFinished={onChanged} />}
        <Alert messages={errors.general} title={transform ? 'Not saved' : 'The transform was not created'} />
        {saved && <Alert tone="good" messages={['Saved. The new version is deployed by the job above.']} />}
        <div class="field-row">
          <TextField
            id="function-name"
            label="Function Name"
            value={functionName}
            onValue={setFunctionName}
            errors={errors.byField.functionName}
            disabled={Boolean(transform)}
            help={transform ? 'The name stays.' : 'Display name for the function: letters, digits, "-" and "_", up to 64.'}
            autoComplete="off"
          />
          <TextField
            id="lambda-handler"
            label="Lambda Handler"
            value={handler}
            onValue={setHandler}
            errors={errors.byField.handler}
            help={<>module.function: the code below is the module <code>{module || '…'}.py</code>.</>}
            autoComplete="off"
          />
        </div>
        <div class="field-row">
          <SelectField id="runtime" label="Runtime" value={runtime} onValue={setRuntime} options={RUNTIMES.map((r) => ({ value: r, label: r }))} errors={errors.byField.runtime} />
          <NumberField id="memory-size" label="Memory Size" unit="MB" value={memory} onValue={setMemory} errors={errors.byField.memory} help="Optional: 128–10240 MB, default 128." />
          <NumberField id="timeout" label="Timeout" unit="seconds" value={timeout} onValue={setTimeoutSeconds} errors={errors.byField.timeout} help="1–300 s." />
        </div>
        <Field
          id="code"
          label="Code"
          errors={errors.byField.code}
          help={
            transform && savedCode === null
              ? recorded.loading
                ? 'Loading the saved code…'
                : 'The saved code could not be shown here. Write or paste a new version to replace it, or leave this empty to keep the saved one.'
              : recorded.data && recorded.data.Files.length > 1
                ? `The saved package has ${recorded.data.Files.length} files; this is ${moduleFile?.Path}. Saving replaces the package with this one file.`
                : 'Python. Tab indents; Escape then Tab leaves the editor.'
          }
        >
          {(a11y) => <CodeEditor id="code" value={code} onValue={setCode} describedBy={a11y['aria-describedby']} />}
        </Field>
        <div class="form-actions">
          <button type="submit" class="button primary" disabled={busy || locked}>
            {transform ? 'Save' : 'Create transform'}
          </button>
          {transform && codeChanged && <span class="muted">The code differs from the saved version.</span>}
          {locked && transform && <span class="muted">The transform is {transform.Status}.</span>}
        </div>
      </form>
      {transform ? (
        <TestPanel streamId={streamId} transform={transform} editorCode={codeChanged ? code : null} handler={handler} runtime={runtime} />
      ) : (
        <aside class="test-panel" aria-labelledby="test-heading">
          <h2 id="test-heading">Test</h2>
          <p class="muted">Create the transform first; then test it here on records you type or on a sample of the stream, before any consumer uses it.</p>
        </aside>
      )}
      {transform && (
        <section class="danger-zone" aria-labelledby="delete-transform-heading">
          <h2 id="delete-transform-heading">Delete transform</h2>
          <p>Consumers using it must be detached or deleted first.</p>
          <button type="button" class="button danger" onClick={() => openDialog(<DeleteTransform streamId={streamId} transform={transform} />)}>
            Delete
          </button>
        </section>
      )}
    </div>
  );
}

function DeleteTransform({ streamId, transform }: { streamId: string; transform: Transform }) {
  const remove = async () => {
    const answer = (await call(
      api.DELETE('/streams/{StreamId}/transforms/{TransformId}', {
        params: { path: { StreamId: streamId, TransformId: transform.TransformId }, header: { 'Idempotency-Key': idempotencyKey(), 'If-Match': String(transform.Version) } },
      }),
    )) as { Job: { JobId: string } };
    forgetCode(transform.TransformId);
    return answer;
  };
  return (
    <ConfirmDelete title={`Delete transform ${transform.FunctionName}?`} remove={remove} then={(job) => `streams/${streamId}?tab=transforms&job=${job}`}>
      <p>The Lambda function is deleted. This cannot be undone.</p>
    </ConfirmDelete>
  );
}
