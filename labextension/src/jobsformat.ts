/** How jobs on Ray read in the sidebar: ids, resources, sizes, timing, the cluster at a glance, log tails. */
import { TranslationBundle } from '@jupyterlab/translation';
import { IClusterStatus, IJob, isJobFinished } from './api';
import { formatDuration, formatTime } from './format';

/** A job's short id: its first 8 hex digits, as `mlp.jobs()` and `%mlp job` print it. */
export function shortId(id: string): string {
  return id.slice(0, 8);
}

/** A memory size the way jobs ask for it: `512 MiB`, `1.5 GiB`, `300 KiB` (powers of 1024). */
export function formatMemory(bytes: number | null | undefined): string {
  if (bytes === null || bytes === undefined || !Number.isFinite(bytes) || bytes < 0) {
    return '';
  }
  const units = ['B', 'KiB', 'MiB', 'GiB', 'TiB'];
  let value = bytes;
  let unit = 0;
  while (value >= 1024 && unit < units.length - 1) {
    value /= 1024;
    unit += 1;
  }
  if (unit === 0) {
    return `${value} B`;
  }
  const text = value < 10 ? value.toFixed(1).replace(/\.0$/, '') : String(Math.round(value));
  return `${text} ${units[unit]}`;
}

/** A count of CPUs or GPUs: whole numbers plain, fractions to two places (`0.5`). */
function formatUnits(n: number): string {
  return Number.isInteger(n) ? String(n) : String(Number(n.toFixed(2)));
}

/** What a job asked for: `1 CPU · 256 MiB`, `2 CPUs · 1 GPU · 4 GiB`; `default resources` when nothing. */
export function jobResources(job: Pick<IJob, 'cpus' | 'gpus' | 'memory'>, trans: TranslationBundle): string {
  const parts: string[] = [];
  if (job.cpus) {
    parts.push(trans._n('%2 CPU', '%2 CPUs', job.cpus, formatUnits(job.cpus)));
  }
  if (job.gpus) {
    parts.push(trans._n('%2 GPU', '%2 GPUs', job.gpus, formatUnits(job.gpus)));
  }
  if (job.memory) {
    parts.push(formatMemory(job.memory));
  }
  return parts.length ? parts.join(' · ') : trans.__('default resources');
}

/** How long a job has waited or run, as of `now` (epoch seconds), or how long it ran once ended. */
export function jobElapsed(job: Pick<IJob, 'status' | 'created_at' | 'started_at' | 'ended_at' | 'duration'>, now: number): number | null {
  if (job.duration !== null && job.duration !== undefined) {
    return job.duration;
  }
  if (isJobFinished(job.status)) {
    return job.started_at && job.ended_at ? job.ended_at - job.started_at : null;
  }
  if (job.status === 'running' && job.started_at) {
    return Math.max(0, now - job.started_at);
  }
  return Math.max(0, now - job.created_at);
}

/** A duration still growing, in whole seconds: `0 s`, `42 s`, `1 m 05 s`. */
function liveDuration(seconds: number): string {
  const s = Math.floor(seconds);
  return s < 60 ? `${s} s` : formatDuration(s);
}

/**
 * A job's timing in a line: `submitted 14:02 · ran 12.3 s`, `running for 1 m 05 s`,
 * `waiting for 40 s`; `now` in epoch seconds.
 */
export function jobTiming(
  job: Pick<IJob, 'status' | 'created_at' | 'started_at' | 'ended_at' | 'duration'>,
  trans: TranslationBundle,
  now: number = Date.now() / 1000
): string {
  const submitted = trans.__('submitted %1', formatTime(job.created_at, new Date(now * 1000)));
  const seconds = jobElapsed(job, now);
  if (seconds === null) {
    return submitted;
  }
  const elapsed = isJobFinished(job.status) ? formatDuration(seconds) : liveDuration(seconds);
  if (!elapsed) {
    return submitted;
  }
  switch (job.status) {
    case 'running':
      return `${submitted} · ${trans.__('running for %1', elapsed)}`;
    case 'pending':
    case 'submitting':
      return `${submitted} · ${trans.__('waiting for %1', elapsed)}`;
    default:
      return job.started_at ? `${submitted} · ${trans.__('ran %1', elapsed)}` : submitted;
  }
}

/** Whether a job's message deserves to stand out: a failure, or why it waits. */
export function messageTone(job: Pick<IJob, 'status' | 'message'>): 'error' | 'warn' | 'info' | null {
  if (!job.message) {
    return null;
  }
  if (job.status === 'failed') {
    return 'error';
  }
  if (job.status === 'pending' || job.status === 'submitting') {
    return 'warn';
  }
  return 'info';
}

/** `in use / total`, with what is in use omitted when unknown. */
function usage(used: number | undefined, total: number | undefined, format: (n: number) => string): string {
  const t = format(total ?? 0);
  return used === undefined ? t : `${format(used)}/${t}`;
}

/**
 * The cluster in a line: `local Ray head · 1 node · in use: 1/2 CPUs, 256 MiB/3 GiB memory · 1 running, 0 pending`;
 * `local Ray head: not started (starts with the first job)` before the first job.
 */
export function clusterSummary(cluster: IClusterStatus, trans: TranslationBundle): string {
  const where = cluster.embedded
    ? trans.__('local Ray head')
    : trans.__('Ray cluster at %1', cluster.address ?? trans.__('(no address)'));
  if (cluster.error) {
    return `${where}: ${cluster.error}`;
  }
  if (cluster.embedded && !cluster.started) {
    return `${where}: ${trans.__('not started (starts with the first job)')}`;
  }
  const parts = [where, trans._n('%1 node', '%1 nodes', cluster.nodes.length)];
  const { totals, in_use: used } = cluster;
  const inUse = [trans.__('%1 CPUs', usage(used.cpus, totals.cpus, formatUnits))];
  if (totals.gpus) {
    inUse.push(trans.__('%1 GPUs', usage(used.gpus, totals.gpus, formatUnits)));
  }
  if (totals.memory) {
    inUse.push(trans.__('%1 memory', usage(used.memory, totals.memory, formatMemory)));
  }
  parts.push(trans.__('in use: %1', inUse.join(', ')));
  if (cluster.jobs) {
    parts.push(trans.__('%1 running, %2 pending', cluster.jobs.running, cluster.jobs.pending));
  }
  return parts.join(' · ');
}

/** The last `max` lines of a text (a trailing partial line counts as one). */
export function lastLines(text: string, max: number): { text: string; dropped: boolean } {
  if (max <= 0) {
    return { text: '', dropped: text.length > 0 };
  }
  // a line ends with '\n'; the text's own final newline does not start another line
  let end = text.endsWith('\n') ? text.length - 1 : text.length;
  for (let i = 0; i < max; i++) {
    const nl = text.lastIndexOf('\n', end - 1);
    if (nl < 0) {
      return { text, dropped: false };
    }
    end = nl;
  }
  return { text: text.slice(end + 1), dropped: true };
}

/** The watchdog every job runs under (`python -u -m mlp._jobrun --memory N --policy P -- ...`): not what the user ran. */
const WATCHDOG = /^python -u -m mlp\._jobrun (?:.*? )?-- /;

/** The command a job runs, as the user would write it: `python train.py --lr 0.1` (the server's
 * `command`; from the entrypoint, without the watchdog, for a server that does not send it). */
export function jobCommand(job: Pick<IJob, 'entrypoint' | 'command'>): string {
  if (job.command) {
    return job.command;
  }
  const entrypoint = job.entrypoint ?? '';
  const match = WATCHDOG.exec(entrypoint);
  return match ? entrypoint.slice(match[0].length) : entrypoint;
}
