/**
 * Jobs on Ray apart from their views: the sidebar's list of jobs with the
 * cluster at a glance (`JobsModel`) and the job opened from it (`JobViewModel`)
 * with its output, tailed live, and Cancel. Only what is shown polls: the list,
 * or the opened job; both poll faster while a job is unfinished.
 */
import { ISignal, Signal } from '@lumino/signaling';
import { asError, IClusterStatus, IJob, isJobFinished, MLPClient, MLPError } from './api';
import { lastLines } from './jobsformat';
import { Polled } from './registrymodel';

/** What the sidebar's Jobs section remembers across reloads. */
export interface IJobsState {
  /** The sidebar shows the jobs. */
  open: boolean;
  /** The job opened from the list (null: the list). */
  selected: string | null;
}

/** Jobs the list shows, newest first. */
export const JOBS_LIMIT = 100;

/** Lines of output the opened job keeps (older ones are dropped). */
export const LOG_LINES = 2000;

/** Seconds between polls of the list while a job is unfinished (at most the panel's interval). */
export const LIVE_LIST_INTERVAL = 2;

/** Seconds between polls of the opened job while it runs or has output to come. */
export const LIVE_JOB_INTERVAL = 1;

const JOB_ID = /^[0-9a-f]{32}$/;

/** Poll every `live` seconds while something moves, else every `idle`; never when the panel's interval is 0 (off). */
function pace(idle: number, live: number, moving: boolean): number {
  return idle > 0 && moving ? Math.min(live, idle) : idle;
}

/** The jobs, newest first, with the cluster they run on, and the job opened from the list. */
export class JobsModel extends Polled {
  constructor(options: { client: MLPClient; pollInterval?: number }) {
    const pollInterval = options.pollInterval ?? 3;
    super('jupyter-mlp:jobs', pollInterval);
    this.client = options.client;
    this._pollInterval = pollInterval;
  }

  readonly client: MLPClient;

  /** Newest first. */
  get jobs(): IJob[] {
    return this._jobs;
  }
  /** The cluster as last asked (null until it answers). */
  get cluster(): IClusterStatus | null {
    return this._cluster;
  }
  /** Why the cluster could not be asked (the jobs may still list). */
  get clusterError(): MLPError | null {
    return this._clusterError;
  }
  /** Some job listed has not ended: the list polls faster. */
  get live(): boolean {
    return this._jobs.some(j => !isJobFinished(j.status));
  }
  get open(): boolean {
    return this._open;
  }
  /** The opened job's id (null: the list is shown). */
  get selected(): string | null {
    return this._detail?.id ?? null;
  }
  get detail(): JobViewModel | null {
    return this._detail;
  }

  /** A state worth remembering across reloads changed. */
  get stateChanged(): ISignal<this, IJobsState> {
    return this._stateChanged;
  }

  toJSON(): IJobsState {
    return { open: this._open, selected: this.selected };
  }

  /** Take back a remembered state (malformed parts are ignored). */
  restore(state: Partial<IJobsState> | null | undefined): void {
    if (typeof state?.open === 'boolean') {
      this._open = state.open;
    }
    if ((typeof state?.selected === 'string' && JOB_ID.test(state.selected)) || state?.selected === null) {
      this._select(state.selected);
    }
    this.emit();
  }

  /** Show the jobs in the sidebar (true) or not. */
  setOpen(open: boolean): void {
    if (open !== this._open) {
      this._open = open;
      this._stateChanged.emit(this.toJSON());
      this.emit();
    }
  }

  /** Open a job (null: back to the list); it loads at once when shown. */
  select(id: string | null): void {
    if (id === this.selected || (id !== null && !JOB_ID.test(id))) {
      return;
    }
    this._select(id);
    this._stateChanged.emit(this.toJSON());
    this.emit();
  }

  /** The list polls while shown without a job opened; the opened job polls instead. */
  setActive(active: boolean): void {
    this._shown = active;
    super.setActive(active && !this._detail);
    this._detail?.setActive(active);
  }

  setPollInterval(seconds: number): void {
    this._pollInterval = seconds;
    this._pace();
    this._detail?.setPollInterval(seconds);
  }

  dispose(): void {
    this._detail?.dispose();
    super.dispose();
  }

  protected async load(current: () => boolean): Promise<void> {
    const [jobs, cluster] = await Promise.allSettled([this.client.jobs({ limit: JOBS_LIMIT }), this.client.cluster()]);
    if (!current()) {
      return;
    }
    if (cluster.status === 'fulfilled') {
      this._cluster = cluster.value;
      this._clusterError = null;
    } else {
      this._clusterError = asError(cluster.reason);
    }
    if (jobs.status === 'rejected') {
      throw jobs.reason;
    }
    this._jobs = jobs.value;
    this._pace();
  }

  private _pace(): void {
    super.setPollInterval(pace(this._pollInterval, LIVE_LIST_INTERVAL, this.live));
  }

  private _select(id: string | null): void {
    this._detail?.dispose();
    const known = id ? this._jobs.find(j => j.id === id) : undefined;
    this._detail = id ? new JobViewModel({ client: this.client, id, job: known, pollInterval: this._pollInterval }) : null;
    this._detail?.changed.connect(() => this.emit(), this);
    this.setActive(this._shown);
  }

  private _cluster: IClusterStatus | null = null;
  private _clusterError: MLPError | null = null;
  private _detail: JobViewModel | null = null;
  private _jobs: IJob[] = [];
  private _open = false;
  private _pollInterval: number;
  private _shown = false;
  private _stateChanged = new Signal<this, IJobsState>(this);
}

/**
 * One job: brought up to date with the cluster at every poll until it ends,
 * and its output tailed from the last byte offset until the server says there
 * is no more. Keeps the last `maxLines` lines. Cancel stops it.
 */
export class JobViewModel extends Polled {
  constructor(options: { client: MLPClient; id: string; job?: IJob; pollInterval?: number; maxLines?: number }) {
    const pollInterval = options.pollInterval ?? 3;
    super(`jupyter-mlp:job:${options.id}`, pace(pollInterval, LIVE_JOB_INTERVAL, true));
    this.client = options.client;
    this.id = options.id;
    this.maxLines = options.maxLines ?? LOG_LINES;
    this._job = options.job ?? null;
    this._pollInterval = pollInterval;
  }

  readonly client: MLPClient;
  readonly id: string;
  readonly maxLines: number;

  /** The job as last asked (null until it answers). */
  get job(): IJob | null {
    return this._job;
  }
  /** Its output so far: the last `maxLines` lines. */
  get log(): string {
    return this._log;
  }
  /** Earlier lines were dropped to keep `maxLines`. */
  get logDropped(): boolean {
    return this._dropped;
  }
  /** Why the output could not be read (the job itself may still show). */
  get logError(): MLPError | null {
    return this._logError;
  }
  /** More output can come: the job has not ended, or not all of it was read. */
  get logMore(): boolean {
    return this._more;
  }
  /** A Cancel is on its way. */
  get cancelling(): boolean {
    return this._cancelling;
  }
  /** Why the last Cancel failed. */
  get cancelError(): MLPError | null {
    return this._cancelError;
  }
  /** The job ended and all its output was read: nothing more to poll. */
  get settled(): boolean {
    return this._job !== null && isJobFinished(this._job.status) && !this._stale && !this._more;
  }

  setPollInterval(seconds: number): void {
    this._pollInterval = seconds;
    this._pace();
  }

  /** Load the job and all its output again now. */
  reload(): Promise<void> {
    this._log = '';
    this._offset = 0;
    this._more = true;
    this._dropped = false;
    this._stale = true;
    return this.refresh();
  }

  /** Stop the job; the answer replaces it. Failures land in `cancelError`, never rejected. */
  async cancel(): Promise<void> {
    if (this._cancelling || !this._job || isJobFinished(this._job.status)) {
      return;
    }
    this._cancelling = true;
    this._cancelError = null;
    this.emit();
    try {
      const job = await this.client.cancelJob(this.id);
      this._job = job;
      this._stale = false;
    } catch (e) {
      this._cancelError = asError(e);
    } finally {
      this._cancelling = false;
      this._pace();
      this.emit();
    }
  }

  protected async load(current: () => boolean): Promise<void> {
    const wantJob = this._job === null || this._stale || !isJobFinished(this._job.status);
    const wantLogs = this._more;
    if (!wantJob && !wantLogs) {
      return;
    }
    const offset = this._offset;
    const [job, logs] = await Promise.allSettled([
      wantJob ? this.client.job(this.id) : Promise.resolve(this._job),
      wantLogs ? this.client.jobLogs(this.id, offset) : Promise.resolve(null)
    ]);
    if (!current()) {
      return;
    }
    if (job.status === 'rejected') {
      throw job.reason;
    }
    if (wantJob && job.value) {
      this._job = job.value;
      this._stale = false;
    }
    if (logs.status === 'fulfilled' && logs.value) {
      const piece = logs.value;
      if (piece.text) {
        const tail = lastLines(this._log + piece.text, this.maxLines);
        this._log = tail.text;
        this._dropped = this._dropped || tail.dropped;
      }
      this._offset = Math.max(offset, piece.offset);
      this._more = piece.more;
      this._logError = null;
      // the output may have seen the job end before the job itself was asked: ask it once more
      if (this._job && isJobFinished(piece.status) && !isJobFinished(this._job.status)) {
        this._job = { ...this._job, status: piece.status, message: piece.message };
        this._stale = true;
      }
    } else if (logs.status === 'rejected') {
      this._logError = asError(logs.reason);
    }
    this._pace();
  }

  private _pace(): void {
    super.setPollInterval(pace(this._pollInterval, LIVE_JOB_INTERVAL, !this.settled));
  }

  private _cancelError: MLPError | null = null;
  private _cancelling = false;
  private _dropped = false;
  private _job: IJob | null;
  private _log = '';
  private _logError: MLPError | null = null;
  private _more = true;
  private _offset = 0;
  private _pollInterval: number;
  private _stale = false;
}
