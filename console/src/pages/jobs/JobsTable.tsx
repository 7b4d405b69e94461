/** Jobs as a table: operation, what it changed, status with live progress, times, outcome. */
import type { Job } from '../../lib/api';
import { describeOperation, isFinished } from '../../lib/jobs';
import { Badge } from '../../components/Badge';
import { JobOutcome, ProgressBar } from '../../components/JobProgress';
import { href } from '../../components/PageHeader';
import { Time } from '../../components/Time';

export function JobsTable({ jobs, showResource = false }: { jobs: Job[]; showResource?: boolean }) {
  // Within the page the server gave, newest first.
  const ordered = [...jobs].sort((a, b) => b.CreatedAt.localeCompare(a.CreatedAt));
  return (
    <div class="table-wrap">
      <table>
        <caption class="visually-hidden">Jobs</caption>
        <thead>
          <tr>
            <th scope="col">Operation</th>
            {showResource && <th scope="col">Resource</th>}
            <th scope="col">Status</th>
            <th scope="col">Started</th>
            <th scope="col">Last change</th>
            <th scope="col">Outcome</th>
          </tr>
        </thead>
        <tbody>
          {ordered.map((job) => (
            <tr key={job.JobId}>
              <th scope="row" class="nowrap">
                <a href={href(`jobs/${job.JobId}`)}>{describeOperation(job.Operation)}</a>
              </th>
              {showResource && (
                <td>
                  {job.ResourceType} <a href={href(`jobs?resource=${job.ResourceId}`)} class="muted small">{job.ResourceId.slice(0, 8)}</a>
                </td>
              )}
              <td>
                <Badge value={job.Status} />
                {!isFinished(job) && <ProgressBar job={job} />}
              </td>
              <td>
                <Time value={job.CreatedAt} />
              </td>
              <td>
                <Time value={job.UpdatedAt} />
              </td>
              <td>
                <JobOutcome job={job} />
              </td>
            </tr>
          ))}
        </tbody>
      </table>
    </div>
  );
}
