/**
 * A typed client of the jupyter-mlp REST API (`/mlp/api/v1`, described by
 * `/mlp/api/v1/openapi.json`), over Jupyter's ServerConnection so requests
 * carry the page's token and XSRF cookie.
 */
import { URLExt } from '@jupyterlab/coreutils';
import { ServerConnection } from '@jupyterlab/services';

/** Where the API lives under the server's base URL. */
export const API_PATH = 'mlp/api/v1';

/** The server's version handshake (`GET info`). */
export interface IInfo {
  version: string;
  api: string;
  transport: string;
  store: string;
  schema: string | null;
  schema_expected: string | null;
  artifact_root: string;
}

/** An experiment with its run counts (`GET experiments`). */
export interface IExperiment {
  id: number | string;
  name: string;
  runs: number;
  last_run: number | null;
  created_at?: number;
}

/** A run's status, as the tracking service writes it. */
export type RunStatus = 'running' | 'finished' | 'failed' | 'killed' | 'crashed';

/** A run as search returns it: times in epoch seconds, metrics as last values. */
export interface IRun {
  id: string;
  name: string;
  experiment: string;
  status: RunStatus;
  status_reason: string | null;
  start_time: number;
  end_time: number | null;
  duration: number;
  user: string | null;
  host: string | null;
  parent_id: string | null;
  source_type: string | null;
  source_name: string | null;
  deleted_at: number | null;
  params: Record<string, unknown>;
  metrics: Record<string, number>;
  tags: Record<string, string>;
}

/** A metric's summary on one run (`GET runs/{id}`): its last point, extremes and size. */
export interface IMetricSummary {
  last: number;
  step: number | null;
  time: number | null;
  min: number;
  max: number;
  count: number;
}

/** One artifact file of a run: path under the run's artifact root, bytes, digest. */
export interface IArtifact {
  path: string;
  size: number;
  digest: string | null;
  created_at: number | null;
}

/** One run in full (`GET runs/{id}`): metric summaries instead of last values, its artifacts and children. */
export interface IRunDetail extends Omit<IRun, 'metrics'> {
  metrics: Record<string, IMetricSummary>;
  artifacts?: IArtifact[];
  children?: string[];
  /** The registered model versions made from this run (servers with a registry). */
  models?: IRunModelVersion[];
}

/** A model version as a run names it. */
export interface IRunModelVersion {
  name: string;
  version: number;
  stage: Stage;
}

/** A model version's stage. */
export type Stage = 'none' | 'staging' | 'production' | 'archived';

/** The stages a version may be asked to move to. */
export const STAGES: Stage[] = ['none', 'staging', 'production', 'archived'];

/** A registered model as the list shows it (`GET registry/models`). */
export interface IModelSummary {
  name: string;
  description: string | null;
  updated_at: number | null;
  created_by: string | null;
  latest_version: number | null;
  versions: number;
  stages: { staging: number[]; production: number[] };
  aliases: Record<string, number>;
  pending_requests: number;
}

/** One version of a model. */
export interface IModelVersion {
  name: string;
  version: number;
  run_id: string;
  artifact: string;
  source: string;
  stage: Stage;
  description: string | null;
  info: Record<string, unknown>;
  created_at: number;
  created_by: string | null;
  stage_changed_at: number | null;
  aliases?: string[];
  tags?: Record<string, string>;
}

/** What a stage's gate asks: approvals from others, metric checks, a validation function. */
export interface IGate {
  approvals: number;
  checks: string[];
  validation?: string | null;
  [key: string]: unknown;
}

/** One check of a gate, judged on the version's source run. */
export interface ICheckResult {
  check: string;
  ok: boolean;
  detail: string;
}

/** One review of a request. */
export interface IReview {
  user: string;
  decision: 'approve' | 'reject';
  comment: string | null;
  at: number;
}

/** A request's status: open while pending or approved (approved, a check still failing). */
export type RequestStatus = 'pending' | 'approved' | 'applied' | 'rejected' | 'cancelled';

/** A stage transition request (`GET registry/requests/{id}`). */
export interface ITransitionRequest {
  id: number;
  name: string;
  version: number;
  from_stage: Stage;
  to_stage: Stage;
  status: RequestStatus;
  requested_by: string;
  requested_at: number;
  comment: string | null;
  gate: IGate;
  /** The gate as last judged: approvals had, each check's result (null until judged). */
  checks: { approvals: { needed: number; have: string[] }; checks: ICheckResult[] } | null;
  decided_at: number | null;
  /** What is missing (open), or why it was rejected. */
  reason: string | null;
  reviews: IReview[];
}

/** A model in full (`GET registry/models/{name}`): versions newest first, open requests. */
export interface IModelDetail {
  name: string;
  description: string | null;
  created_at: number;
  created_by: string | null;
  updated_at: number | null;
  tags: Record<string, string>;
  aliases: Record<string, number>;
  policy: Record<string, unknown>;
  policy_is_default: boolean;
  versions: IModelVersion[];
  open_requests: ITransitionRequest[];
}

/** One registry change: who, when, what, from → to, the comment. */
export interface IAuditEvent {
  id: number;
  at: number;
  actor: string | null;
  model: string;
  version: number | null;
  action: string;
  from: string | null;
  to: string | null;
  comment: string | null;
  request_id: number | null;
}

/** A decision on a request: approve or reject (someone else's), cancel (your own). */
export type Decision = 'approve' | 'reject' | 'cancel';

/** A request is open while its gate is not met. */
export function isOpen(request: ITransitionRequest): boolean {
  return request.status === 'pending' || request.status === 'approved';
}

/** Where a feature view reads its rows: a Parquet/CSV path, a SQL query, or a stored DataFrame. */
export interface IFeatureSource {
  kind: 'parquet' | 'csv' | 'sql' | 'dataframe';
  uri?: string;
  query?: string;
  url?: string;
  digest?: string;
  rows?: number;
  options?: Record<string, unknown>;
}

/** A feature view's freshness against its SLO (`GET features/freshness`): times in epoch seconds. */
export type FreshnessStatus = 'fresh' | 'stale' | 'never' | 'unmonitored';

export interface IFreshness {
  view: string;
  version: number;
  /** The version the online store serves (null: never materialized). */
  online_version: number | null;
  newest_event_time: number | null;
  last_materialized: number | null;
  /** Seconds between now and the newest event time online. */
  age: number | null;
  slo: number | null;
  status: FreshnessStatus;
  materializations: number;
  running: number;
}

/** A feature view's current version as the list shows it (`GET features/views`). */
export interface IFeatureView {
  name: string;
  version: number;
  latest_version?: number;
  entities: { name: string; version: number }[];
  join_keys: string[];
  key_types: Record<string, string>;
  source: IFeatureSource;
  event_time: string;
  created_time: string | null;
  /** Seconds (null: no limit). */
  ttl: number | null;
  features: { name: string; dtype: string }[];
  description: string | null;
  owner: string | null;
  freshness_slo: number | null;
  tags: Record<string, string>;
  created_at: number;
  created_by: string | null;
  updated_at: number | null;
  /** Null for a view the freshness query did not cover. */
  freshness?: IFreshness | null;
}

/** One view in full (`GET features/views/{name}`): its versions, oldest first; no freshness. */
export interface IFeatureViewDetail extends IFeatureView {
  latest_version: number;
  versions: { version: number; created_at: number; created_by: string | null }[];
}

/** The newest rows of a view's source: values as JSON (times as ISO strings). */
export interface IFeatureSample {
  columns: string[];
  rows: unknown[][];
}

/** Nulls and, for numeric features, min, max and mean. */
export interface IFeatureStat {
  nulls: number;
  min: number | null;
  max: number | null;
  mean: number | null;
}

/** A view's source at a glance (`GET features/views/{name}/stats`): event times in epoch seconds. */
export interface IFeatureStats {
  rows: number;
  keys: number;
  event_time_min: number | null;
  event_time_max: number | null;
  features: Record<string, IFeatureStat>;
}

/** One materialization of a view to the online store; `progress` runs from 0 to 1. */
export interface IMaterialization {
  id: number;
  view: string;
  version: number;
  status: 'running' | 'finished' | 'failed';
  start: number | null;
  end: number | null;
  incremental?: boolean;
  keys: number | null;
  written: number | null;
  newest_event_time: number | null;
  started_at: number;
  finished_at: number | null;
  started_by: string | null;
  error: string | null;
  progress: number | null;
}

/** Where a job on Ray is: `submitting` until Ray has it, then `pending` (waiting for resources), `running`, and one of the final three. */
export type JobStatus = 'submitting' | 'pending' | 'running' | 'succeeded' | 'failed' | 'stopped';

/** The statuses a job never leaves. */
export const FINAL_JOB_STATUSES: readonly JobStatus[] = ['succeeded', 'failed', 'stopped'];

/** Whether a job has ended (its status no longer changes). */
export function isJobFinished(status: string): boolean {
  return (FINAL_JOB_STATUSES as readonly string[]).includes(status);
}

/** A job on the Ray cluster (`GET jobs`, `GET jobs/{id}`): times in epoch seconds, sizes in bytes. */
export interface IJob {
  /** 32 hex digits. */
  id: string;
  /** The run that tracks it. */
  run_id: string;
  kind: 'script' | 'cell';
  name: string;
  entrypoint: string;
  /** What the user asked to run (the entrypoint adds the memory watchdog in front). */
  command?: string;
  status: JobStatus;
  /** Why it waits (`pending: waiting for resources ...`), why it failed, or who cancelled it. */
  message: string | null;
  cluster: string | null;
  created_at: number;
  created_by: string | null;
  started_at: number | null;
  ended_at: number | null;
  /** Seconds from start to end (null while it runs, or when it never started). */
  duration: number | null;
  exit_code: number | null;
  peak_memory: number | null;
  cpus: number | null;
  gpus: number | null;
  memory: number | null;
  args: string[];
  /** The names of the environment variables it sets (never their values). */
  env: string[];
  requirements: string[];
  inputs: string[];
  experiment: string | null;
  request_id: string | null;
}

/** A piece of a job's output (`GET jobs/{id}/logs?offset=`): ask again from `offset` while `more`. */
export interface IJobLogs {
  text: string;
  /** The byte offset to ask from next. */
  offset: number;
  status: JobStatus;
  message: string | null;
  /** False once the job ended and all its output was returned. */
  more: boolean;
}

/** CPUs, GPUs and memory (bytes): a node's, the cluster's total, or what jobs hold. */
export interface IResources {
  cpus?: number;
  gpus?: number;
  memory?: number;
}

/** One node of the Ray cluster. */
export interface IClusterNode {
  node_id: string;
  host: string;
  head: boolean;
  cpus: number;
  gpus: number;
  memory: number;
  resources?: Record<string, number>;
}

/** The Ray cluster (`GET cluster`): an embedded head starts with the first job. */
export interface IClusterStatus {
  address: string | null;
  /** A local head this server starts (true), or a remote cluster. */
  embedded: boolean;
  started: boolean;
  nodes: IClusterNode[];
  totals: IResources;
  in_use: IResources;
  jobs?: { pending: number; running: number };
  note?: string;
  /** The cluster could not be asked. */
  error?: string;
}

/** Which jobs to list: of one status, the newest `limit`, only the caller's. */
export interface IJobsQuery {
  status?: JobStatus;
  limit?: number;
  mine?: boolean;
}

/** What a chart's x axis counts: the step logged, or the wall-clock time (epoch seconds). */
export type XAxis = 'step' | 'time';

/** One metric's points as a chart needs them (`GET runs/{id}/series`). */
export interface ISeries {
  key: string;
  x: number[];
  y: number[];
  /** Points in the requested range before downsampling. */
  count: number;
  downsampled: boolean;
  /** NaN/±inf points in the range: counted, not drawn. */
  nonfinite: number;
  min: number | null;
  max: number | null;
  last: number | null;
}

export interface ISeriesResponse {
  run_id: string;
  x: XAxis;
  series: ISeries[];
}

/** Which points to ask for: at most `maxPoints` per key, within `start`..`end` of the x axis. */
export interface ISeriesQuery {
  keys: string[];
  x?: XAxis;
  maxPoints?: number;
  start?: number | null;
  end?: number | null;
}

/** Metric, param and tag keys in use (`GET keys`). */
export interface IKeys {
  metrics: string[];
  params: string[];
  tags: string[];
}

/** The kinds of capture a run may hold. */
export type CaptureKind = 'code' | 'git' | 'environment';

/** A captured cell: its execution count and source. */
export interface ICodeCell {
  execution_count: number | null;
  source: string;
}

/** The code a run ran: notebook or IPython cells, or a script's source. */
export interface ICodeCapture {
  type: 'notebook' | 'ipython' | 'script' | 'interactive' | string;
  cells?: ICodeCell[];
  source?: string;
  path?: string | null;
  argv?: string[];
  truncated?: boolean;
  error?: string;
}

/** The git state of the work tree the run ran in. */
export interface IGitCapture {
  commit?: string | null;
  branch?: string | null;
  dirty?: boolean;
  diff?: string;
  truncated?: boolean;
  untracked?: string[];
  remote?: string | null;
  error?: string;
}

/** The interpreter, host, packages and (redacted) environment variables of the run. */
export interface IEnvironmentCapture {
  python?: string | null;
  implementation?: string | null;
  executable?: string | null;
  platform?: string | null;
  hostname?: string | null;
  host?: string | null;
  user?: string | null;
  cwd?: string | null;
  packages?: Record<string, string> | null;
  env?: Record<string, string> | null;
  error?: string;
  [key: string]: unknown;
}

export interface ICaptures {
  code: ICodeCapture;
  git: IGitCapture;
  environment: IEnvironmentCapture;
}

/** The first bytes (or all) of an artifact file, with what the server said about them. */
export interface IArtifactBytes {
  blob: Blob;
  contentType: string;
  /** The server (or the client, when the server sent more) cut the file at `max_bytes`. */
  truncated: boolean;
}

/** A section of a run diff. */
export type DiffSection = 'params' | 'metrics' | 'code' | 'environment' | 'artifacts' | 'tags' | 'attributes';

/** How a field compares across the runs (2 runs: added = only in the second, removed = only in the first). */
export type DiffStatus = 'changed' | 'added' | 'removed' | 'same';

/** One run as the diff names it; `label` is short and unique within the diff. */
export interface IDiffRun {
  id: string;
  name: string | null;
  experiment: string;
  status: RunStatus;
  start_time: number;
  end_time: number | null;
  duration: number;
  user: string | null;
  host: string | null;
  label: string;
}

/** Where metrics are read: their last point, the best step of one metric, or one step. */
export interface IDiffAt {
  mode: 'last' | 'best' | 'step';
  key: string | null;
  step: number | null;
  /** The step each run is read at. */
  steps: (number | null)[];
}

/** One key across the runs: a value per run (null: the run has none). */
export interface IDiffRow {
  key: string;
  values: unknown[];
  status: DiffStatus;
  /** How much the values differ, 0..1. */
  score: number;
  numeric: boolean;
}

/** One metric on one run. */
export interface IDiffMetricRun {
  last: number | null;
  min: number | null;
  max: number | null;
  best: number | null;
  best_step: number | null;
  at: number | null;
  at_step: number | null;
  count: number;
  nonfinite: number;
}

export interface IDiffMetric {
  key: string;
  /** Which way is better. */
  direction: 'min' | 'max';
  status: DiffStatus;
  runs: (IDiffMetricRun | null)[];
  /** Run 1 minus run 0 (2 runs); null for 3 or more. */
  delta: { last: number | null; best: number | null; at: number | null };
  /** The index of the run best at `at`; null on a tie or without values. */
  better: number | null;
  score: number;
}

/** A run's downsampled curve of one metric; `time` is seconds since that run started. */
export interface IDiffCurve {
  step: number[];
  time: number[];
  value: number[];
}

export type CellOp = 'same' | 'changed' | 'added' | 'removed' | 'moved';

/** One cell of run a against run b. */
export interface IDiffCellOp {
  op: CellOp;
  a: number | null;
  b: number | null;
  a_count: number | null;
  b_count: number | null;
  /** The cell's source (b's side; a's for a removed cell). */
  source: string;
  /** Unified diff lines (`-x`, `+y`, ` z`) of a changed (or moved and edited) cell. */
  diff: string[];
}

/** The code of run a (always run 0) against run b. */
export interface IDiffCodePair {
  a: number;
  b: number;
  ops: IDiffCellOp[];
  /** Two scripts, line by line. */
  script_diff: string[] | null;
  changed: number;
  added: number;
  removed: number;
  moved: number;
  same: number;
}

export interface IDiffCounts {
  changed: number;
  added: number;
  removed: number;
  same: number;
  moved?: number;
}

/** One artifact file across the runs. */
export interface IDiffArtifact {
  path: string;
  values: ({ digest: string; size: number } | null)[];
  status: DiffStatus;
  score: number;
}

/** What differs between runs (`GET diff`, schema `mlp.diff/1`); run 0 is the baseline. */
export interface IDiff {
  schema: string;
  runs: IDiffRun[];
  at: IDiffAt;
  only_changed: boolean;
  /** Some run is still running: the diff is worth refreshing. */
  live: boolean;
  /** One-glance lines, most important first. */
  summary: { section: DiffSection; text: string }[];
  counts: Partial<Record<DiffSection, IDiffCounts>>;
  params: IDiffRow[];
  tags: IDiffRow[];
  attributes: IDiffRow[];
  metrics: IDiffMetric[];
  curves: { max_points: number; series: Record<string, (IDiffCurve | null)[]> };
  code: { kinds: ('cells' | 'script' | 'none')[]; pairs: IDiffCodePair[] };
  environment: { python: IDiffRow | null; packages: IDiffRow[]; git: IDiffRow[]; inputs: IDiffRow[] };
  artifacts: IDiffArtifact[];
  /** Every differing field across sections, most different first. */
  varying: { section: DiffSection | string; key: string; values: unknown[]; score: number }[];
}

/** Which runs to compare and how (`GET diff`). */
export interface IDiffQuery {
  /** Run ids or references, baseline first. */
  runs: string[];
  /** `last`, `best:KEY` or a step; the server's default is `last`. */
  at?: string;
  /** Leave out what is the same (the server's default). */
  onlyChanged?: boolean;
  /** Points per curve and run. */
  maxPoints?: number;
}

/** One search request (`POST runs/search`). */
export interface ISearchQuery {
  experiment?: string | string[] | null;
  where?: string | null;
  order_by?: string[] | null;
  limit?: number;
  cursor?: string | null;
}

/** One page of runs; `next_cursor` is null on the last page. */
export interface IRunPage {
  runs: IRun[];
  next_cursor: string | null;
}

/** The JSON body of every refusal: `{error, message, field}`, plus the position of a query error. */
export interface IErrorBody {
  error: string;
  message: string;
  field: string | null;
  position?: number;
  reason?: string;
  query?: string;
}

/**
 * A refused or failed request. `kind` is the server's error class
 * (`QueryError`, `NotFound`, ...), `NetworkError` when the server could not
 * be reached, `ServerError` for anything without the JSON error shape.
 */
export class MLPError extends Error {
  readonly kind: string;
  readonly status: number;
  readonly field: string | null;
  readonly position: number | null;
  readonly reason: string | null;
  readonly query: string | null;

  constructor(body: IErrorBody, status: number) {
    super(body.message);
    this.name = 'MLPError';
    this.kind = body.error;
    this.status = status;
    this.field = body.field ?? null;
    this.position = typeof body.position === 'number' ? body.position : null;
    this.reason = body.reason ?? null;
    this.query = body.query ?? null;
  }

  /** A malformed `where` or `order_by`: the user can fix it in the filter box. */
  get isQueryError(): boolean {
    return this.kind === 'QueryError';
  }
}

/** Any failure as an `MLPError` (`ClientError` for what is not one). */
export function asError(e: unknown): MLPError {
  if (e instanceof MLPError) {
    return e;
  }
  return new MLPError({ error: 'ClientError', message: String((e as Error)?.message ?? e), field: null }, 0);
}

const NON_FINITE: Record<string, number> = {
  NaN: NaN,
  Infinity: Infinity,
  '-Infinity': -Infinity
};

/**
 * Parse JSON that may hold the bare tokens `NaN`, `Infinity` and `-Infinity`
 * (what Python's `json.dumps` writes for non-finite floats) as numbers.
 *
 * Strict JSON goes through `JSON.parse` untouched; otherwise the tokens found
 * outside strings are swapped for unique string markers that a reviver turns
 * back into numbers, so a string that merely contains "NaN" is left alone.
 */
export function parseJSON(text: string): any {
  try {
    return JSON.parse(text);
  } catch (strictError) {
    const marker = `\u0000mlp-${Math.random().toString(36).slice(2)}:`;
    let out = '';
    let i = 0;
    let replaced = false;
    while (i < text.length) {
      const c = text[i];
      if (c === '"') {
        let j = i + 1;
        while (j < text.length && text[j] !== '"') {
          j += text[j] === '\\' ? 2 : 1;
        }
        out += text.slice(i, j + 1);
        i = j + 1;
        continue;
      }
      const token = ['-Infinity', 'Infinity', 'NaN'].find(t => text.startsWith(t, i));
      if (token) {
        out += JSON.stringify(marker + token);
        i += token.length;
        replaced = true;
        continue;
      }
      out += c;
      i += 1;
    }
    if (!replaced) {
      throw strictError;
    }
    return JSON.parse(out, (_key, value) =>
      typeof value === 'string' && value.startsWith(marker)
        ? NON_FINITE[value.slice(marker.length)]
        : value
    );
  }
}

/**
 * A number the server sent: a number, or (strict JSON) one of the strings
 * `"NaN"`, `"Infinity"`, `"-Infinity"`. Anything else is null.
 */
export function toNumber(value: unknown): number | null {
  if (typeof value === 'number') {
    return value;
  }
  if (typeof value === 'string' && value in NON_FINITE) {
    return NON_FINITE[value];
  }
  return null;
}

/** `toNumber` over a list; what is not a number becomes NaN, so indexes still line up. */
function toNumbers(values: unknown): number[] {
  return Array.isArray(values) ? values.map(v => toNumber(v) ?? NaN) : [];
}

function numericValues(record: Record<string, unknown> | null | undefined): Record<string, number> {
  const out: Record<string, number> = {};
  for (const [k, v] of Object.entries(record ?? {})) {
    out[k] = toNumber(v) ?? NaN;
  }
  return out;
}

/** What a run id looks like; anything else is a reference to resolve. */
export const RUN_ID = /^[0-9a-f]{32}$/;

/** The REST API of one Jupyter server. */
export class MLPClient {
  readonly serverSettings: ServerConnection.ISettings;

  constructor(serverSettings?: ServerConnection.ISettings) {
    this.serverSettings = serverSettings ?? ServerConnection.makeSettings();
  }

  /** The version handshake: server version, store, schema. */
  info(): Promise<IInfo> {
    return this.request<IInfo>('info');
  }

  /** Every experiment with its run count, by name. */
  async experiments(): Promise<IExperiment[]> {
    const body = await this.request<{ experiments: IExperiment[] }>('experiments');
    return body.experiments;
  }

  /** One page of runs matching a query, ordered and paged by the server. */
  async searchRuns(query: ISearchQuery): Promise<IRunPage> {
    const body: Record<string, unknown> = { limit: query.limit ?? 50 };
    if (query.experiment) {
      body.experiment = query.experiment;
    }
    if (query.where && query.where.trim()) {
      body.where = query.where;
    }
    if (query.order_by && query.order_by.length) {
      body.order_by = query.order_by;
    }
    if (query.cursor) {
      body.cursor = query.cursor;
    }
    const page = await this.request<IRunPage>('runs/search', {
      method: 'POST',
      body: JSON.stringify(body)
    });
    page.runs = page.runs.map(r => ({ ...r, metrics: numericValues(r.metrics) }));
    return page;
  }

  /** One run in full, by id or reference (`@latest`, `name`); `NotFound` when there is none. */
  async run(ref: string): Promise<IRunDetail> {
    const id = RUN_ID.test(ref) ? ref : await this.resolve(ref);
    const run = await this.request<IRunDetail>(`runs/${id}`);
    const metrics: Record<string, IMetricSummary> = {};
    for (const [key, m] of Object.entries(run.metrics ?? {})) {
      metrics[key] = {
        ...m,
        last: toNumber(m.last) ?? NaN,
        min: toNumber(m.min) ?? NaN,
        max: toNumber(m.max) ?? NaN
      };
    }
    return { ...run, metrics };
  }

  /** The id of a run reference: an id, `@latest`, `@latest~1`, a run name. */
  async resolve(ref: string): Promise<string> {
    const body = await this.request<{ run_id: string }>(`runs/resolve?${new URLSearchParams({ ref })}`);
    return body.run_id;
  }

  /** A run's metric points, downsampled by the server to `maxPoints` per key. */
  async series(runId: string, query: ISeriesQuery): Promise<ISeriesResponse> {
    const params = new URLSearchParams();
    query.keys.forEach(k => params.append('key', k));
    params.set('x', query.x ?? 'step');
    if (query.maxPoints) {
      params.set('max_points', String(Math.min(100000, Math.max(16, Math.round(query.maxPoints)))));
    }
    if (query.start !== null && query.start !== undefined && Number.isFinite(query.start)) {
      params.set('start', String(query.start));
    }
    if (query.end !== null && query.end !== undefined && Number.isFinite(query.end)) {
      params.set('end', String(query.end));
    }
    const body = await this.request<ISeriesResponse>(`runs/${encodeURIComponent(runId)}/series?${params}`);
    return {
      ...body,
      series: (body.series ?? []).map(s => ({
        ...s,
        x: toNumbers(s.x),
        y: toNumbers(s.y),
        count: s.count ?? s.x?.length ?? 0,
        downsampled: !!s.downsampled,
        nonfinite: s.nonfinite ?? 0,
        min: toNumber(s.min),
        max: toNumber(s.max),
        last: toNumber(s.last)
      }))
    };
  }

  /** Metric, param and tag keys used in these experiments (all when none given). */
  keys(experiments: string[] = []): Promise<IKeys> {
    const params = new URLSearchParams();
    experiments.forEach(e => params.append('experiment', e));
    const qs = params.toString();
    return this.request<IKeys>(qs ? `keys?${qs}` : 'keys');
  }

  /** The runs started under this one (nested runs, trials), oldest first. */
  async children(runId: string, limit = 100): Promise<IRunPage> {
    return this.searchRuns({ where: `parent_id = '${runId.replace(/'/g, "''")}'`, order_by: ['start_time'], limit });
  }

  /** A captured code, git or environment record, or null when the run has none. */
  async capture<K extends CaptureKind>(runId: string, kind: K): Promise<ICaptures[K] | null> {
    const body = await this.request<{ capture: ICaptures[K] | null }>(
      `runs/${encodeURIComponent(runId)}/captures/${kind}`
    );
    return body.capture ?? null;
  }

  /** A run's artifact files, all of them or those under `prefix`. */
  async artifacts(runId: string, prefix?: string): Promise<IArtifact[]> {
    const qs = prefix ? `?${new URLSearchParams({ prefix })}` : '';
    const body = await this.request<{ artifacts: IArtifact[] }>(`runs/${encodeURIComponent(runId)}/artifacts${qs}`);
    return body.artifacts ?? [];
  }

  /**
   * The bytes of an artifact file, or its first `maxBytes` (a server that sends
   * more is cut here too, so a preview never holds more than it asked for).
   */
  async artifact(runId: string, path: string, maxBytes?: number): Promise<IArtifactBytes> {
    const params = new URLSearchParams({ path });
    if (maxBytes) {
      params.set('max_bytes', String(maxBytes));
    }
    const response = await this.fetch(`runs/${encodeURIComponent(runId)}/artifact?${params}`);
    let blob = await response.blob();
    let truncated = (response.headers.get('X-MLP-Truncated') ?? '').toLowerCase() === 'true';
    if (maxBytes && blob.size > maxBytes) {
      blob = blob.slice(0, maxBytes);
      truncated = true;
    }
    const contentType = (response.headers.get('Content-Type') ?? '').split(';')[0].trim();
    return { blob, contentType, truncated };
  }

  /**
   * A URL that downloads an artifact file in a plain link: the server's token
   * goes along when the page has one (cookie logins need none).
   */
  artifactUrl(runId: string, path: string): string {
    const params = new URLSearchParams({ path });
    if (this.serverSettings.token) {
      params.set('token', this.serverSettings.token);
    }
    return URLExt.join(this.serverSettings.baseUrl, API_PATH, `runs/${encodeURIComponent(runId)}/artifact`) + `?${params}`;
  }

  /** What differs between runs, in one answer (run 0 is the baseline); NaN and ±inf read as numbers. */
  async diff(query: IDiffQuery): Promise<IDiff> {
    const params = new URLSearchParams();
    query.runs.forEach(r => params.append('run', r));
    if (query.at) {
      params.set('at', query.at);
    }
    if (query.onlyChanged !== undefined) {
      params.set('only_changed', query.onlyChanged ? '1' : '0');
    }
    if (query.maxPoints) {
      params.set('max_points', String(Math.min(10000, Math.max(16, Math.round(query.maxPoints)))));
    }
    return readDiff(await this.request<IDiff>(`diff?${params}`));
  }

  /** Registered models with latest version, stages, aliases and open requests; `like` filters names (`churn*`). */
  async models(like?: string): Promise<IModelSummary[]> {
    const q = like && like.trim() ? `?${new URLSearchParams({ like: like.trim() })}` : '';
    const body = await this.request<{ models: IModelSummary[] }>(`registry/models${q}`);
    return body.models ?? [];
  }

  /** One model: its versions (newest first), aliases, policy and open requests. */
  model(name: string): Promise<IModelDetail> {
    return this.request<IModelDetail>(`registry/models/${encodeURIComponent(name)}`);
  }

  /** Transition requests, of one model and/or with these statuses. */
  async transitionRequests(query: { model?: string; status?: RequestStatus[] } = {}): Promise<ITransitionRequest[]> {
    const params = new URLSearchParams();
    if (query.model) {
      params.set('model', query.model);
    }
    (query.status ?? []).forEach(s => params.append('status', s));
    const qs = params.toString();
    const body = await this.request<{ requests: ITransitionRequest[] }>(`registry/requests${qs ? `?${qs}` : ''}`);
    return body.requests ?? [];
  }

  /** Ask to move a version to a stage; applied at once when its gate needs no approval and its checks pass. */
  requestTransition(model: string, version: number, stage: Stage, comment?: string): Promise<ITransitionRequest> {
    const body: Record<string, unknown> = { model, version, stage };
    if (comment && comment.trim()) {
      body.comment = comment.trim();
    }
    return this.request<ITransitionRequest>('registry/requests', { method: 'POST', body: JSON.stringify(body) });
  }

  /** Approve or reject a request (never your own: `AccessDenied`), or cancel your own. */
  decide(requestId: number, decision: Decision, comment?: string): Promise<ITransitionRequest> {
    const body = comment && comment.trim() ? { comment: comment.trim() } : {};
    return this.request<ITransitionRequest>(`registry/requests/${requestId}/${decision}`, {
      method: 'POST',
      body: JSON.stringify(body)
    });
  }

  /** A model's audit log, oldest first (the whole registry's without a name). */
  async audit(name?: string, limit = 1000): Promise<IAuditEvent[]> {
    const path = name ? `registry/models/${encodeURIComponent(name)}/audit` : 'registry/audit';
    const body = await this.request<{ events: IAuditEvent[] }>(`${path}?limit=${limit}`);
    return body.events ?? [];
  }

  /** The current version of every feature view, with its freshness. */
  async featureViews(): Promise<IFeatureView[]> {
    const body = await this.request<{ views: IFeatureView[] }>('features/views');
    return body.views ?? [];
  }

  /** One feature view (its current version unless `version`), with its versions. */
  featureView(name: string, version?: number): Promise<IFeatureViewDetail> {
    const q = version ? `?${new URLSearchParams({ version: String(version) })}` : '';
    return this.request<IFeatureViewDetail>(`features/views/${encodeURIComponent(name)}${q}`);
  }

  /** The newest `n` rows of a view's source. */
  async featureSample(name: string, n = 10): Promise<IFeatureSample> {
    const body = await this.request<IFeatureSample>(`features/views/${encodeURIComponent(name)}/sample?n=${n}`);
    return { columns: body.columns ?? [], rows: body.rows ?? [] };
  }

  /** Rows, keys, event-time range and per-feature nulls, min, max, mean of a view's source. */
  async featureStats(name: string): Promise<IFeatureStats> {
    const body = await this.request<IFeatureStats>(`features/views/${encodeURIComponent(name)}/stats`);
    const features: Record<string, IFeatureStat> = {};
    for (const [key, f] of Object.entries(body.features ?? {})) {
      features[key] = { nulls: f.nulls, min: toNumber(f.min), max: toNumber(f.max), mean: toNumber(f.mean) };
    }
    return { ...body, features };
  }

  /** Freshness against the SLO, of every view or of one. */
  async freshness(view?: string): Promise<IFreshness[]> {
    const q = view ? `?${new URLSearchParams({ view })}` : '';
    const body = await this.request<{ views: IFreshness[] }>(`features/freshness${q}`);
    return body.views ?? [];
  }

  /** Materializations, newest first, of every view or of one. */
  async materializations(view?: string, limit = 50): Promise<IMaterialization[]> {
    const params = new URLSearchParams({ limit: String(limit) });
    if (view) {
      params.set('view', view);
    }
    const body = await this.request<{ materializations: IMaterialization[] }>(`features/materializations?${params}`);
    return body.materializations ?? [];
  }

  /** Jobs on the Ray cluster, newest first. */
  async jobs(query: IJobsQuery = {}): Promise<IJob[]> {
    const params = new URLSearchParams();
    if (query.status) {
      params.set('status', query.status);
    }
    if (query.limit) {
      params.set('limit', String(query.limit));
    }
    if (query.mine) {
      params.set('mine', 'true');
    }
    const qs = params.toString();
    const body = await this.request<{ jobs: IJob[] }>(`jobs${qs ? `?${qs}` : ''}`);
    return body.jobs ?? [];
  }

  /** One job, brought up to date with the cluster. */
  job(id: string): Promise<IJob> {
    return this.request<IJob>(`jobs/${encodeURIComponent(id)}`);
  }

  /** A job's output from byte `offset`: ask again from the returned offset while `more`. */
  async jobLogs(id: string, offset = 0): Promise<IJobLogs> {
    const body = await this.request<IJobLogs>(`jobs/${encodeURIComponent(id)}/logs?offset=${Math.max(0, Math.floor(offset))}`);
    return { ...body, text: body.text ?? '', offset: body.offset ?? offset, message: body.message ?? null };
  }

  /** Stop a job; answers the job as it now is. */
  cancelJob(id: string): Promise<IJob> {
    return this.request<IJob>(`jobs/${encodeURIComponent(id)}/cancel`, { method: 'POST', body: '{}' });
  }

  /** The Ray cluster: where it is, its nodes, totals and what is in use, jobs pending and running. */
  async cluster(): Promise<IClusterStatus> {
    const body = await this.request<IClusterStatus>('cluster');
    return { ...body, nodes: body.nodes ?? [], totals: body.totals ?? {}, in_use: body.in_use ?? {} };
  }

  /** A JSON request under the API path; refusals become `MLPError`. */
  async request<T>(path: string, init: RequestInit = {}): Promise<T> {
    const response = await this.fetch(path, init);
    const data = readJSON(await response.text());
    if (data === undefined) {
      throw new MLPError(
        { error: 'ServerError', message: `${response.url || path} answered with something that is not JSON`, field: null },
        response.status
      );
    }
    return data as T;
  }

  /** A request under the API path that answered 2xx; anything else becomes `MLPError`. */
  async fetch(path: string, init: RequestInit = {}): Promise<Response> {
    // the query string stays out of the join, which normalizes paths
    const q = path.indexOf('?');
    const url =
      URLExt.join(this.serverSettings.baseUrl, API_PATH, q < 0 ? path : path.slice(0, q)) + (q < 0 ? '' : path.slice(q));
    let response: Response;
    try {
      response = await ServerConnection.makeRequest(url, init, this.serverSettings);
    } catch (error) {
      throw new MLPError(
        {
          error: 'NetworkError',
          message: `the Jupyter server did not answer (${(error as Error).message}); check that it is still running`,
          field: null
        },
        0
      );
    }
    if (!response.ok) {
      const text = await response.text();
      throw new MLPError(errorBody(readJSON(text), response, text), response.status);
    }
    return response;
  }
}

/** A diff with its metric numbers as numbers, and every list the schema promises present. */
export function readDiff(body: IDiff): IDiff {
  const num = (v: unknown) => toNumber(v);
  const series: Record<string, (IDiffCurve | null)[]> = {};
  for (const [key, curves] of Object.entries(body.curves?.series ?? {})) {
    series[key] = (curves ?? []).map(c => c && { step: toNumbers(c.step), time: toNumbers(c.time), value: toNumbers(c.value) });
  }
  const env = body.environment ?? ({} as Partial<IDiff['environment']>);
  return {
    ...body,
    summary: body.summary ?? [],
    counts: body.counts ?? {},
    params: body.params ?? [],
    tags: body.tags ?? [],
    attributes: body.attributes ?? [],
    artifacts: body.artifacts ?? [],
    varying: body.varying ?? [],
    code: { kinds: body.code?.kinds ?? [], pairs: body.code?.pairs ?? [] },
    environment: { python: env.python ?? null, packages: env.packages ?? [], git: env.git ?? [], inputs: env.inputs ?? [] },
    metrics: (body.metrics ?? []).map(m => ({
      ...m,
      runs: (m.runs ?? []).map(
        r =>
          r && {
            ...r,
            last: num(r.last),
            min: num(r.min),
            max: num(r.max),
            best: num(r.best),
            at: num(r.at)
          }
      ),
      delta: { last: num(m.delta?.last), best: num(m.delta?.best), at: num(m.delta?.at) }
    })),
    curves: { max_points: body.curves?.max_points ?? 0, series }
  };
}

/** A body as JSON, or undefined when it is empty or not JSON. */
function readJSON(text: string): any {
  try {
    return text ? parseJSON(text) : undefined;
  } catch {
    return undefined;
  }
}

function errorBody(data: any, response: Response, text: string): IErrorBody {
  if (data && typeof data === 'object' && typeof data.message === 'string') {
    return {
      error: typeof data.error === 'string' ? data.error : 'ServerError',
      message: data.message,
      field: data.field ?? null,
      position: data.position,
      reason: data.reason,
      query: data.query
    };
  }
  if (response.status === 404) {
    return {
      error: 'NotFound',
      message:
        'this Jupyter server has no ML Platform API: check that the mlp_server extension is enabled (jupyter server extension list)',
      field: null
    };
  }
  if (response.status === 403 || response.status === 401) {
    return {
      error: 'Forbidden',
      message: 'the Jupyter server refused access to the ML Platform API: log in again',
      field: null
    };
  }
  return {
    error: 'ServerError',
    message: `${response.status} ${response.statusText}${text ? `: ${text.slice(0, 200)}` : ''}`,
    field: null
  };
}
