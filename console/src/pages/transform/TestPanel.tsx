/**
 * The dry run: records typed by hand or a sample of the stream, through the saved transform
 * or the code in the editor (optionally compared with the saved version): each record's
 * result, data and contract error, and the summary. Nothing saved changes.
 */
import { useState } from 'preact/hooks';
import { api, call, type Schemas, type Transform } from '../../lib/api';
import { mapFieldErrors, noErrors, type FieldErrors } from '../../lib/field-errors';
import { readParam, useUrlQuery } from '../../lib/url-state';
import { Badge } from '../../components/Badge';
import { CheckboxField, Field, NumberField, SelectField } from '../../components/Fields';
import { Alert } from '../../components/States';

type Result = Schemas['TestTransformResult'];
type Position = 'NEWEST' | 'TRIM_HORIZON';
type FormField = 'records' | 'position' | 'limit' | 'code';
const FIELDS: Record<string, FormField> = { Records: 'records', 'Sample.Position': 'position', 'Sample.Limit': 'limit', Sample: 'limit', Code: 'code' };

const EXAMPLE = `id,company,price,sector
1,Initech,10.5,TECHNOLOGY
2,Gringotts,99.0,FINANCIAL
3,Weyland,1.0,AEROSPACE`;

export function TestPanel({ streamId, transform, editorCode, handler, runtime }: { streamId: string; transform: Transform; editorCode: string | null; handler: string; runtime: string }) {
  const { query, set } = useUrlQuery();
  const input = readParam(query, 'input', 'typed', ['typed', 'sample'] as const);
  const [records, setRecords] = useState(EXAMPLE);
  const [position, setPosition] = useState<Position>('NEWEST');
  const [limit, setLimit] = useState('20');
  const [compare, setCompare] = useState(true);
  const [result, setResult] = useState<Result | null>(null);
  const [errors, setErrors] = useState<FieldErrors<FormField>>(noErrors);
  const [busy, setBusy] = useState(false);
  const runsEditorCode = editorCode !== null;

  const test = async (event: Event) => {
    event.preventDefault();
    setBusy(true);
    setErrors(noErrors);
    try {
      const body = {
        ...(input === 'typed' ? { Records: records.split('\n').filter((line) => line !== '') } : { Sample: { Position: position, Limit: Number(limit) } }),
        ...(runsEditorCode ? { Code: { Inline: editorCode }, LambdaHandler: handler, Runtime: runtime, Compare: compare } : {}),
      };
      setResult(
        await call(
          api.POST('/streams/{StreamId}/transforms/{TransformId}/test', {
            params: { path: { StreamId: streamId, TransformId: transform.TransformId } },
            // Records or Sample, with Code or not: the generated type cannot express these alternatives.
            body: body as never,
          }),
        ),
      );
    } catch (error) {
      setResult(null);
      setErrors(mapFieldErrors(error, FIELDS));
    }
    setBusy(false);
  };

  return (
    <aside class="test-panel" aria-labelledby="test-heading">
      <h2 id="test-heading">Test</h2>
      <p class="muted">
        {runsEditorCode ? 'Runs the code in the editor (not saved yet) on a scratch function.' : 'Runs the saved version.'} The function gets the exact event
        Firehose sends; nothing is delivered.
      </p>
      <form class="form" onSubmit={test} noValidate>
        <div role="radiogroup" aria-label="Test on" class="range">
          {(['typed', 'sample'] as const).map((choice) => (
            <label key={choice} class={`radio${input === choice ? ' selected' : ''}`}>
              <input type="radio" name="test-input" checked={input === choice} onChange={() => set({ input: choice === 'typed' ? undefined : choice }, { replace: true })} />
              {choice === 'typed' ? 'Typed records' : 'A sample of the stream'}
            </label>
          ))}
        </div>
        <Alert messages={errors.general} title="The test did not run" />
        {input === 'typed' ? (
          <Field id="test-records" label="Records" errors={errors.byField.records} help="One record a line, as producers send them.">
            {(a11y) => <textarea {...a11y} rows={6} value={records} spellcheck={false} onInput={(e) => setRecords(e.currentTarget.value)} />}
          </Field>
        ) : (
          <div class="field-row">
            <SelectField
              id="sample-position"
              label="Sample from"
              value={position}
              onValue={setPosition}
              options={[
                { value: 'NEWEST', label: 'The newest records' },
                { value: 'TRIM_HORIZON', label: 'The oldest kept (trim horizon)' },
              ]}
              errors={errors.byField.position}
            />
            <NumberField id="sample-limit" label="How many" value={limit} onValue={setLimit} errors={errors.byField.limit} help="1–500 records." />
          </div>
        )}
        {runsEditorCode && <CheckboxField id="compare" label="Compare with the saved version" checked={compare} onValue={setCompare} help="Each record also shows what the saved version makes of it." />}
        {errors.byField.code && <p class="field-error">{errors.byField.code.join(' ')}</p>}
        <div class="form-actions">
          <button type="submit" class="button primary" disabled={busy || transform.Status === 'CREATING'}>
            Test
          </button>
          {busy && <span class="muted" role="status">Running…</span>}
        </div>
      </form>
      {result && <TestResult result={result} />}
    </aside>
  );
}

function TestResult({ result }: { result: Result }) {
  const { Summary } = result;
  return (
    <section aria-labelledby="result-heading" class="test-result">
      <h3 id="result-heading">Result</h3>
      <dl class="inline-stats" aria-label="Summary">
        <div>
          <dt>Ok</dt>
          <dd>{Summary.Ok}</dd>
        </div>
        <div>
          <dt>Dropped</dt>
          <dd>{Summary.Dropped}</dd>
        </div>
        <div>
          <dt>ProcessingFailed</dt>
          <dd>{Summary.ProcessingFailed}</dd>
        </div>
        {Summary.Changed !== undefined && (
          <div>
            <dt>Changed</dt>
            <dd>{Summary.Changed}</dd>
          </div>
        )}
      </dl>
      {result.FunctionError && (
        <Alert title={`The function failed: ${result.FunctionError.Type}`} messages={[result.FunctionError.Message]} />
      )}
      {result.ContractErrors.length > 0 && <Alert title="The answer broke the Firehose contract" messages={result.ContractErrors} />}
      {result.Records.length === 0 ? (
        <p class="muted">No records to test: the sample was empty.</p>
      ) : (
        <div class="table-wrap">
          <table class="records compact">
            <caption class="visually-hidden">Each record's result</caption>
            <thead>
              <tr>
                <th scope="col">Input</th>
                <th scope="col">Result</th>
                <th scope="col">Data</th>
                {result.Records.some((r) => r.Before) && <th scope="col">Saved version</th>}
              </tr>
            </thead>
            <tbody>
              {result.Records.map((r) => (
                <tr key={r.RecordId}>
                  <td>
                    <code class="data">{r.Input.replace(/\n$/, '')}</code>
                  </td>
                  <td>
                    <Badge value={r.Result} />
                    {r.Error && <div class="field-error small">{r.Error}</div>}
                  </td>
                  <td>
                    {r.Data === null ? <span class="muted">—</span> : r.Data === r.Input ? <span class="muted nowrap">as input</span> : <code class="data">{r.Data.replace(/\n$/, '')}</code>}
                  </td>
                  {result.Records.some((x) => x.Before) && (
                    <td>
                      {r.Before ? (
                        <>
                          <Badge value={r.Before.Result} /> {r.Before.Result !== r.Result || r.Before.Data !== r.Data ? <strong class="small">changed</strong> : <span class="muted small">same</span>}
                        </>
                      ) : null}
                    </td>
                  )}
                </tr>
              ))}
            </tbody>
          </table>
        </div>
      )}
      {result.LogTail && (
        <details>
          <summary>Function log</summary>
          <pre class="code" tabIndex={0} aria-label="Function log">{result.LogTail}</pre>
        </details>
      )}
    </section>
  );
}
