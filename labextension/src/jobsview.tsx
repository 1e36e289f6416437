import { TranslationBundle } from '@jupyterlab/translation';
import * as React from 'react';
import { IJob, isJobFinished, JobStatus } from './api';
import { Failure, Loading } from './components/states';
import { formatDateTime, formatDuration } from './format';
import { clusterSummary, formatMemory, jobCommand, jobElapsed, jobResources, jobTiming, messageTone, shortId } from './jobsformat';
import { JobsModel, JobViewModel } from './jobsmodel';

/**
 * Jobs on Ray in the sidebar: the cluster at a glance and the jobs, newest
 * first, or, once one is clicked, that job with its output tailed live.
 * `onOpenRun` opens the run that tracks a job.
 */
export function JobsSection(props: { model: JobsModel; trans: TranslationBundle; onOpenRun?: (runId: string) => void }): JSX.Element {
  const { model, trans, onOpenRun } = props;
  return (
    <div className="jp-mlp-Jobs">
      {model.detail ? (
        <JobPage model={model.detail} trans={trans} onBack={() => model.select(null)} onOpenRun={onOpenRun} />
      ) : (
        <JobList model={model} trans={trans} />
      )}
    </div>
  );
}

function JobList(props: { model: JobsModel; trans: TranslationBundle }): JSX.Element {
  const { model, trans } = props;
  const now = Date.now() / 1000;
  return (
    <>
      <ClusterLine model={model} trans={trans} />
      {model.jobs.length > 0 && (
        <ul className="jp-mlp-JobList" aria-label={trans.__('Jobs')}>
          {model.jobs.map(j => (
            <JobRow key={j.id} job={j} now={now} trans={trans} onOpen={() => model.select(j.id)} />
          ))}
        </ul>
      )}
      <JobsState model={model} trans={trans} />
    </>
  );
}

/** The cluster in a line; what went wrong asking it, in its place. */
function ClusterLine(props: { model: JobsModel; trans: TranslationBundle }): JSX.Element | null {
  const { model, trans } = props;
  const { cluster, clusterError } = model;
  if (clusterError) {
    return (
      <div className="jp-mlp-ClusterSummary jp-mlp-mod-error" role="alert">
        {trans.__('Cluster: %1', clusterError.message)}
      </div>
    );
  }
  if (!cluster) {
    return null;
  }
  const title = cluster.note ?? (cluster.nodes.map(n => `${n.host}${n.head ? ' (head)' : ''}`).join(', ') || undefined);
  return (
    <div
      className={`jp-mlp-ClusterSummary${cluster.error ? ' jp-mlp-mod-error' : ''}`}
      data-started={String(cluster.started)}
      title={title}
    >
      {clusterSummary(cluster, trans)}
    </div>
  );
}

function JobRow(props: { job: IJob; now: number; trans: TranslationBundle; onOpen: () => void }): JSX.Element {
  const { job: j, now, trans, onOpen } = props;
  return (
    <li
      className="jp-mlp-JobRow"
      data-job={j.id}
      data-status={j.status}
      tabIndex={0}
      title={trans.__('Open job %1', shortId(j.id))}
      onClick={onOpen}
      onKeyDown={e => e.key === 'Enter' && onOpen()}
    >
      <div className="jp-mlp-JobRow-head">
        <code className="jp-mlp-JobRow-id">{shortId(j.id)}</code>
        <span className="jp-mlp-JobRow-name">{j.name}</span>
        <JobBadge status={j.status} trans={trans} />
      </div>
      <div className="jp-mlp-JobRow-meta jp-mlp-muted">
        <span className="jp-mlp-JobRow-resources">{jobResources(j, trans)}</span>
        <span className="jp-mlp-JobRow-time">{jobTiming(j, trans, now)}</span>
        {j.created_by && <span className="jp-mlp-JobRow-user">{j.created_by}</span>}
      </div>
      <JobMessage job={j} clamp />
    </li>
  );
}

/** What a status reads as in a badge. */
function statusLabel(status: JobStatus, trans: TranslationBundle): string {
  const labels: Record<JobStatus, string> = {
    submitting: trans.__('submitting'),
    pending: trans.__('pending'),
    running: trans.__('running'),
    succeeded: trans.__('succeeded'),
    failed: trans.__('failed'),
    stopped: trans.__('stopped')
  };
  return labels[status] ?? status;
}

/** A job's status, coloured. */
export function JobBadge(props: { status: JobStatus; trans: TranslationBundle }): JSX.Element {
  return (
    <span className={`jp-mlp-JobBadge jp-mlp-mod-${props.status}`} data-status={props.status}>
      {statusLabel(props.status, props.trans)}
    </span>
  );
}

/** Why a job waits, how it failed, or who cancelled it; nothing when all is well. `clamp`: a few lines, the rest in the tooltip. */
function JobMessage(props: { job: IJob; clamp?: boolean }): JSX.Element | null {
  const tone = messageTone(props.job);
  if (!tone) {
    return null;
  }
  return (
    <div
      className={`jp-mlp-JobMessage jp-mlp-mod-${tone}${props.clamp ? ' jp-mlp-mod-clamped' : ''}`}
      title={props.clamp ? props.job.message ?? undefined : undefined}
      role={tone === 'error' ? 'alert' : undefined}
    >
      {props.job.message}
    </div>
  );
}

function JobsState(props: { model: JobsModel; trans: TranslationBundle }): JSX.Element | null {
  const { model, trans } = props;
  if (model.status === 'error' && model.error) {
    return (
      <Failure
        title={trans.__('Could not load the jobs')}
        error={model.error}
        trans={trans}
        onRetry={() => void model.refresh()}
        hint={
          model.error.kind === 'NotFound'
            ? trans.__('This server has no jobs routes: upgrade jupyter-mlp on the server, then retry.')
            : model.error.status === 503
              ? trans.__('The Ray cluster is unavailable: check MLP.ray_address, or that the cluster is up, then retry.')
              : undefined
        }
      />
    );
  }
  if (model.jobs.length > 0) {
    return null;
  }
  if (model.status === 'loading') {
    return <Loading label={trans.__('Loading jobs…')} />;
  }
  return (
    <div className="jp-mlp-State" role="status">
      <p className="jp-mlp-State-title">{trans.__('No jobs yet')}</p>
      <p>{trans.__('Run a script on the Ray cluster from a notebook:')}</p>
      <pre className="jp-mlp-State-code">{'mlp.submit("train.py", cpus=2, memory="4GiB")'}</pre>
    </div>
  );
}

/** One job: status, resources, timing, exit code, peak memory, its run, its output tailed live, and Cancel. */
export function JobPage(props: {
  model: JobViewModel;
  trans: TranslationBundle;
  onBack: () => void;
  onOpenRun?: (runId: string) => void;
}): JSX.Element {
  const { model, trans, onBack, onOpenRun } = props;
  const job = model.job;
  return (
    <div className="jp-mlp-JobView" data-job={model.id} data-status={job?.status}>
      <div className="jp-mlp-JobView-nav">
        <button className="jp-mlp-LinkButton jp-mlp-JobView-back" onClick={onBack}>
          {trans.__('← Jobs')}
        </button>
      </div>
      <h3 className="jp-mlp-JobView-name">
        {job?.name ?? shortId(model.id)}
        <span className="jp-mlp-muted"> {shortId(model.id)}</span>
      </h3>
      {model.status === 'error' && model.error && (
        <Failure
          title={trans.__('Could not load job %1', shortId(model.id))}
          error={model.error}
          trans={trans}
          onRetry={() => void model.reload()}
        />
      )}
      {!job && model.status === 'loading' && <Loading label={trans.__('Loading job %1…', shortId(model.id))} />}
      {job && (
        <>
          <div className="jp-mlp-JobView-status">
            <JobBadge status={job.status} trans={trans} />
            <JobActions model={model} job={job} trans={trans} onOpenRun={onOpenRun} />
          </div>
          <JobMessage job={job} />
          {model.cancelError && (
            <p className="jp-mlp-JobView-error" role="alert">
              {trans.__('Could not cancel: %1', model.cancelError.message)}
            </p>
          )}
          <Details job={job} trans={trans} />
          <section className="jp-mlp-Section jp-mlp-JobView-output">
            <h4 className="jp-mlp-Section-title">
              {trans.__('Output')}
              {model.logMore && !isJobFinished(job.status) && <span className="jp-mlp-muted"> {trans.__('(live)')}</span>}
            </h4>
            <LogTail model={model} trans={trans} />
          </section>
        </>
      )}
    </div>
  );
}

function JobActions(props: {
  model: JobViewModel;
  job: IJob;
  trans: TranslationBundle;
  onOpenRun?: (runId: string) => void;
}): JSX.Element {
  const { model, job, trans, onOpenRun } = props;
  return (
    <span className="jp-mlp-JobView-actions">
      {job.run_id && onOpenRun && (
        <button
          className="jp-mlp-LinkButton jp-mlp-JobView-run"
          data-run-id={job.run_id}
          title={trans.__('Open the run that tracks this job: its params, metrics, artifacts and log')}
          onClick={() => onOpenRun(job.run_id)}
        >
          {trans.__('Open run %1', shortId(job.run_id))}
        </button>
      )}
      {!isJobFinished(job.status) && (
        <button
          className="jp-mlp-PagerButton jp-mlp-JobView-cancel"
          disabled={model.cancelling}
          title={trans.__('Stop this job on the cluster')}
          onClick={() => void model.cancel()}
        >
          {model.cancelling ? trans.__('Cancelling…') : trans.__('Cancel')}
        </button>
      )}
    </span>
  );
}

function Details(props: { job: IJob; trans: TranslationBundle }): JSX.Element {
  const { job: j, trans } = props;
  const elapsed = formatDuration(jobElapsed(j, Date.now() / 1000));
  const command = jobCommand(j);
  const rows: [string, React.ReactNode][] = [
    [trans.__('resources'), jobResources(j, trans)],
    [trans.__('command'), <code className="jp-mlp-JobView-command" title={j.entrypoint}>
        {command}
      </code>],
    [trans.__('submitted'), `${formatDateTime(j.created_at)}${j.created_by ? ` · ${j.created_by}` : ''}`],
    [trans.__('started'), formatDateTime(j.started_at) || trans.__('not yet')],
    [trans.__('ended'), formatDateTime(j.ended_at) || (isJobFinished(j.status) ? '–' : trans.__('not yet'))],
    [isJobFinished(j.status) ? trans.__('duration') : trans.__('so far'), elapsed || '–'],
    [trans.__('exit code'), j.exit_code === null || j.exit_code === undefined ? '–' : String(j.exit_code)],
    [
      trans.__('peak memory'),
      j.peak_memory ? (j.memory ? trans.__('%1 of %2 requested', formatMemory(j.peak_memory), formatMemory(j.memory)) : formatMemory(j.peak_memory)) : '–'
    ]
  ];
  if (j.experiment) {
    rows.push([trans.__('experiment'), j.experiment]);
  }
  if (j.cluster) {
    rows.push([trans.__('cluster'), j.cluster]);
  }
  if (j.requirements?.length) {
    rows.push([trans.__('requirements'), j.requirements.join(', ')]);
  }
  if (j.env?.length) {
    rows.push([trans.__('environment'), j.env.join(', ')]);
  }
  if (j.inputs?.length) {
    rows.push([trans.__('inputs'), j.inputs.join(', ')]);
  }
  return (
    <table className="jp-mlp-KV jp-mlp-JobView-details">
      <tbody>
        {rows.map(([k, v]) => (
          <tr key={k}>
            <th scope="row">{k}</th>
            <td>{v}</td>
          </tr>
        ))}
      </tbody>
    </table>
  );
}

/** The job's output, scrolled to the newest line unless the user scrolled up to read. */
function LogTail(props: { model: JobViewModel; trans: TranslationBundle }): JSX.Element {
  const { model, trans } = props;
  const ref = React.useRef<HTMLPreElement>(null);
  const stick = React.useRef(true);
  React.useEffect(() => {
    const el = ref.current;
    if (el && stick.current) {
      el.scrollTop = el.scrollHeight;
    }
  }, [model.log]);
  const onScroll = () => {
    const el = ref.current;
    if (el) {
      stick.current = el.scrollTop + el.clientHeight >= el.scrollHeight - 8;
    }
  };
  return (
    <>
      {model.logDropped && (
        <p className="jp-mlp-muted jp-mlp-JobLog-note">{trans.__('Showing the last %1 lines.', model.maxLines)}</p>
      )}
      {model.logError && (
        <p className="jp-mlp-JobView-error" role="alert">
          {trans.__('Could not read the output: %1', model.logError.message)}
        </p>
      )}
      {model.log ? (
        <pre className="jp-mlp-JobLog" ref={ref} onScroll={onScroll}>
          {model.log}
        </pre>
      ) : (
        <p className="jp-mlp-muted jp-mlp-JobLog-empty">
          {model.logMore ? trans.__('No output yet.') : trans.__('The job printed nothing.')}
        </p>
      )}
    </>
  );
}
