/**
 * The state of one run view, apart from its React views: the run, its parent
 * and children, the tab shown, the charts (which metrics, step or time axis,
 * log scale, each chart's zoom and points), the captures, the artifact tree
 * and the preview. Tabs load what they show when first shown; a running run
 * is polled while its view is visible.
 */
import { IDisposable } from '@lumino/disposable';
import { Poll } from '@lumino/polling';
import { ISignal, Signal } from '@lumino/signaling';
import {
  asError,
  CaptureKind,
  IArtifact,
  ICaptures,
  IRun,
  IRunDetail,
  ISeries,
  MLPClient,
  MLPError,
  XAxis
} from './api';
import { Range } from './chart';
import { pollFrequency } from './model';
import {
  extension,
  IFolderListing,
  listFolder,
  parseDelimited,
  previewBytes,
  previewKind,
  PreviewKind
} from './preview';

/** The tabs of a run view. */
export type RunTab = 'overview' | 'artifacts' | 'code' | 'environment';
export const RUN_TABS: RunTab[] = ['overview', 'artifacts', 'code', 'environment'];

/** What a run view remembers across reloads (the layout restorer keeps it). */
export interface IRunViewState {
  runId: string;
  tab: RunTab;
  axis: XAxis;
  log: boolean;
  /** The metrics charted, or null for the first few the run has. */
  charts: string[] | null;
  /** The artifact previewed. */
  artifact: string | null;
}

export type LoadState = 'idle' | 'loading' | 'ready' | 'error';

/** Something fetched on demand: where it is, and what came back. */
export interface ILoadable<T> {
  status: LoadState;
  value: T | null;
  error: MLPError | null;
}

/** One metric chart: the points the server sent for its x range (all of it unless zoomed). */
export interface IChart {
  key: string;
  status: LoadState;
  series: ISeries | null;
  /** The x range zoomed into, or null for everything. */
  zoom: Range | null;
  error: MLPError | null;
}

/** An artifact being previewed. */
export interface IPreview {
  path: string;
  kind: PreviewKind;
  status: LoadState;
  /** An object URL of an image's bytes (revoked when the preview changes). */
  url: string | null;
  text: string | null;
  rows: string[][] | null;
  /** Only the first bytes were fetched (or, for an image, it is too large to draw). */
  truncated: boolean;
  error: MLPError | null;
}

/** The most metrics charted at once. */
export const MAX_CHARTS = 10;

/** Points asked per chart before the view has measured one (about a chart's width in pixels). */
export const DEFAULT_MAX_POINTS = 800;

export namespace RunModel {
  export interface IOptions {
    client: MLPClient;
    /** A run id or reference (`@latest`). */
    runId: string;
    /** A remembered state to start from. */
    state?: Partial<IRunViewState> | null;
    /** Seconds between refreshes of a running run while the view is visible (0: none). */
    pollInterval?: number;
  }
}

export class RunModel implements IDisposable {
  constructor(options: RunModel.IOptions) {
    this.client = options.client;
    this._runId = options.runId;
    this._restore(options.state ?? null);
    this._poll = new Poll({
      auto: false,
      factory: () => this._tick(),
      frequency: pollFrequency(options.pollInterval ?? 3),
      name: 'jupyter-mlp:run',
      standby: () => (this._active ? 'when-hidden' : true)
    });
  }

  readonly client: MLPClient;

  /** Anything the views show changed. */
  get changed(): ISignal<this, void> {
    return this._changed;
  }
  /** A state worth remembering across reloads changed. */
  get stateChanged(): ISignal<this, IRunViewState> {
    return this._stateChanged;
  }
  get isDisposed(): boolean {
    return this._isDisposed;
  }

  /** The run's id once loaded, else the reference the view was opened with. */
  get runId(): string {
    return this._run?.id ?? this._runId;
  }
  get run(): IRunDetail | null {
    return this._run;
  }
  /** Where loading the run itself is. */
  get status(): LoadState {
    return this._status;
  }
  get error(): MLPError | null {
    return this._error;
  }
  get parent(): IRun | null {
    return this._parent;
  }
  get children(): IRun[] {
    return this._children;
  }

  get tab(): RunTab {
    return this._tab;
  }
  get axis(): XAxis {
    return this._axis;
  }
  get log(): boolean {
    return this._log;
  }

  /** The run's metric keys, `system/` ones last. */
  get metricKeys(): string[] {
    const keys = Object.keys(this._run?.metrics ?? {});
    const sys = (k: string) => (k.startsWith('system/') ? 1 : 0);
    return keys.sort((a, b) => sys(a) - sys(b) || a.localeCompare(b));
  }

  /** The metrics charted: the chosen ones the run has, else its first few (system ones only when it has nothing else). */
  get chartKeys(): string[] {
    const keys = this.metricKeys;
    if (this._chosen) {
      return this._chosen.filter(k => keys.includes(k)).slice(0, MAX_CHARTS);
    }
    const own = keys.filter(k => !k.startsWith('system/'));
    return (own.length ? own : keys).slice(0, MAX_CHARTS);
  }
  /** Whether the charted metrics were chosen by the user. */
  get chartsChosen(): boolean {
    return this._chosen !== null;
  }

  /** The charts of `chartKeys`, in order; a chart not asked for yet shows as loading. */
  get charts(): IChart[] {
    return this.chartKeys.map(
      key => this._charts.get(key) ?? { key, status: 'loading', series: null, zoom: null, error: null }
    );
  }
  /** Points asked per chart. */
  get maxPoints(): number {
    return this._maxPoints;
  }

  get code(): ILoadable<ICaptures['code']> {
    return this._captures.code as ILoadable<ICaptures['code']>;
  }
  get git(): ILoadable<ICaptures['git']> {
    return this._captures.git as ILoadable<ICaptures['git']>;
  }
  get environment(): ILoadable<ICaptures['environment']> {
    return this._captures.environment as ILoadable<ICaptures['environment']>;
  }

  get artifacts(): ILoadable<IArtifact[]> {
    return this._artifacts;
  }
  /** The artifact folder shown ('' for the top). */
  get folder(): string {
    return this._folder;
  }
  get listing(): IFolderListing {
    return listFolder(this._artifacts.value ?? [], this._folder);
  }
  get preview(): IPreview | null {
    return this._preview;
  }
  /** A link that downloads an artifact file. */
  downloadUrl(path: string): string {
    return this.client.artifactUrl(this.runId, path);
  }

  toJSON(): IRunViewState {
    return {
      runId: this.runId,
      tab: this._tab,
      axis: this._axis,
      log: this._log,
      charts: this._chosen && [...this._chosen],
      artifact: this._preview?.path ?? this._pendingArtifact
    };
  }

  /** Load the run (and what the tab shown needs). */
  async load(): Promise<void> {
    await this._loadRun(false);
    if (this._run) {
      void this._loadRelatives();
      void this._loadTab(this._tab);
    }
  }

  /** Load everything shown again: the run, its relatives, the charts and the tab's data. */
  async refresh(): Promise<void> {
    await this._loadRun(this._status === 'ready');
    if (!this._run) {
      return;
    }
    void this._loadRelatives();
    if (this._chartsShown) {
      void this._loadSeries(this.chartKeys, true);
    }
    if (this._tab === 'artifacts') {
      void this._loadArtifacts();
    } else if (this._tab === 'code') {
      void this._loadCapture('code');
      void this._loadCapture('git');
    } else if (this._tab === 'environment') {
      void this._loadCapture('environment');
    }
  }

  setTab(tab: RunTab): void {
    if (tab === this._tab || !RUN_TABS.includes(tab)) {
      return;
    }
    this._tab = tab;
    this._emitState();
    this._changed.emit();
    if (this._run) {
      void this._loadTab(tab);
    }
  }

  /** Chart against steps or wall-clock time; zooms are dropped (their ranges were in the other unit). */
  setAxis(axis: XAxis): void {
    if (axis === this._axis) {
      return;
    }
    this._axis = axis;
    this._charts.clear();
    this._emitState();
    this._changed.emit();
    if (this._chartsShown) {
      void this._loadSeries(this.chartKeys, false);
    }
  }

  setLog(log: boolean): void {
    if (log === this._log) {
      return;
    }
    this._log = log;
    this._emitState();
    this._changed.emit();
  }

  /** Chart these metrics (at most `MAX_CHARTS`), or null for the default ones. */
  setCharts(keys: string[] | null): void {
    this._chosen = keys && [...new Set(keys)].slice(0, MAX_CHARTS);
    this._emitState();
    this._changed.emit();
    this._loadMissingCharts();
  }

  /** Add a metric to the charts or take it out. */
  toggleChart(key: string): void {
    const current = this.chartKeys;
    this.setCharts(current.includes(key) ? current.filter(k => k !== key) : [...current, key]);
  }

  /**
   * The charts are on screen, each `width` pixels wide: load those not loaded
   * yet, about one point per pixel; reload the rest when they grew a lot.
   */
  showCharts(width: number): void {
    const points = Math.max(100, Math.min(4000, Math.round(width)));
    const grew = this._chartsShown && points > this._maxPoints * 1.25;
    if (!this._chartsShown || grew) {
      this._maxPoints = points;
    }
    this._chartsShown = true;
    if (grew) {
      void this._loadSeries(this.chartKeys.filter(k => !this._charts.get(k)?.zoom), true);
    }
    this._loadMissingCharts();
  }

  /** Show `range` of the x axis on one chart, with every point the server has there (up to `maxPoints`). */
  zoom(key: string, range: Range): void {
    if (!(range[1] > range[0])) {
      return;
    }
    const chart = this._charts.get(key);
    this._charts.set(key, { key, status: 'loading', series: chart?.series ?? null, zoom: range, error: null });
    void this._loadSeries([key], false);
  }

  /** Back to the whole x range. */
  resetZoom(key: string): void {
    const chart = this._charts.get(key);
    if (!chart?.zoom) {
      return;
    }
    this._charts.set(key, { ...chart, zoom: null });
    void this._loadSeries([key], false);
  }

  /** Show an artifact folder ('' for the top). */
  openFolder(path: string): void {
    this._folder = path.replace(/\/+$/, '');
    this._changed.emit();
  }

  /** Preview an artifact file: images drawn, text/JSON/tables from their first 64 KB, others by size. */
  async showArtifact(path: string): Promise<void> {
    this._revokePreview();
    this._pendingArtifact = null;
    const ticket = ++this._previewTicket;
    const kind = previewKind(path);
    const preview: IPreview = {
      path,
      kind,
      status: kind === 'binary' ? 'ready' : 'loading',
      url: null,
      text: null,
      rows: null,
      truncated: false,
      error: null
    };
    this._preview = preview;
    const slash = path.lastIndexOf('/');
    this._folder = slash > 0 ? path.slice(0, slash) : '';
    this._emitState();
    this._changed.emit();
    if (kind === 'binary') {
      return;
    }
    try {
      const bytes = await this.client.artifact(this.runId, path, previewBytes(kind));
      if (ticket !== this._previewTicket || this._isDisposed) {
        return;
      }
      const next: IPreview = { ...preview, status: 'ready', truncated: bytes.truncated };
      if (kind === 'image') {
        if (!bytes.truncated) {
          // a server that does not say image/* still gets an image drawn (SVG needs its type)
          const type = bytes.contentType.startsWith('image/') ? bytes.contentType : imageType(path);
          next.url = URL.createObjectURL(new Blob([bytes.blob], { type }));
        }
      } else {
        const text = await bytes.blob.text();
        if (ticket !== this._previewTicket || this._isDisposed) {
          return;
        }
        next.text = kind === 'json' && !bytes.truncated ? prettyJSON(text) : text;
        if (kind === 'table') {
          next.rows = parseDelimited(text, extension(path) === 'tsv' ? '\t' : ',', bytes.truncated);
        }
      }
      this._preview = next;
    } catch (e) {
      if (ticket !== this._previewTicket || this._isDisposed) {
        return;
      }
      this._preview = { ...preview, status: 'error', error: asError(e) };
    }
    this._changed.emit();
  }

  /** Close the preview. */
  closeArtifact(): void {
    this._revokePreview();
    this._previewTicket++;
    this._preview = null;
    this._pendingArtifact = null;
    this._emitState();
    this._changed.emit();
  }

  /** Whether the view is on screen: a running run is polled only then. */
  setActive(active: boolean): void {
    if (active === this._active) {
      return;
    }
    this._active = active;
    if (active) {
      void this._poll.start();
    }
  }

  dispose(): void {
    if (this._isDisposed) {
      return;
    }
    this._isDisposed = true;
    this._revokePreview();
    this._poll.dispose();
    Signal.clearData(this);
  }

  private _restore(state: Partial<IRunViewState> | null): void {
    if (!state) {
      return;
    }
    if (typeof state.tab === 'string' && RUN_TABS.includes(state.tab)) {
      this._tab = state.tab;
    }
    if (state.axis === 'step' || state.axis === 'time') {
      this._axis = state.axis;
    }
    if (typeof state.log === 'boolean') {
      this._log = state.log;
    }
    if (Array.isArray(state.charts) && state.charts.every(k => typeof k === 'string')) {
      this._chosen = state.charts.slice(0, MAX_CHARTS);
    }
    if (typeof state.artifact === 'string') {
      this._pendingArtifact = state.artifact;
    }
  }

  /** One poll: only a running run changes; a network failure makes the poll back off. */
  private async _tick(): Promise<void> {
    if (this._run?.status !== 'running') {
      return;
    }
    await this._loadRun(true);
    if (this._error?.kind === 'NetworkError') {
      throw this._error;
    }
    if (this._chartsShown) {
      await this._loadSeries(this.chartKeys.filter(k => !this._charts.get(k)?.zoom), true);
    }
  }

  private async _loadRun(quiet: boolean): Promise<void> {
    const ticket = ++this._runTicket;
    if (!quiet) {
      this._status = 'loading';
      this._changed.emit();
    }
    try {
      const run = await this.client.run(this._run?.id ?? this._runId);
      if (ticket !== this._runTicket || this._isDisposed) {
        return;
      }
      const before = this._run;
      this._run = run;
      this._status = 'ready';
      this._error = null;
      if (!before || before.id !== run.id) {
        this._emitState(); // a reference resolved to an id: remember the id
      }
      this._loadMissingCharts();
    } catch (e) {
      if (ticket !== this._runTicket || this._isDisposed) {
        return;
      }
      this._error = asError(e);
      if (!quiet || !this._run) {
        this._status = 'error';
      }
    }
    this._changed.emit();
  }

  private async _loadRelatives(): Promise<void> {
    const run = this._run;
    if (!run) {
      return;
    }
    const [parent, children] = await Promise.all([
      run.parent_id
        ? this.client.searchRuns({ where: `id = '${run.parent_id}'`, limit: 1 }).then(p => p.runs[0] ?? null, () => null)
        : Promise.resolve(null),
      run.children === undefined || run.children.length
        ? this.client.children(run.id).then(p => p.runs, () => [] as IRun[])
        : Promise.resolve([] as IRun[])
    ]);
    if (this._isDisposed || this._run?.id !== run.id) {
      return;
    }
    this._parent = parent;
    this._children = children;
    this._changed.emit();
  }

  private async _loadTab(tab: RunTab): Promise<void> {
    if (tab === 'artifacts') {
      if (this._artifacts.status === 'idle') {
        await this._loadArtifacts();
      }
    } else if (tab === 'code') {
      await Promise.all([this._loadCapture('code', true), this._loadCapture('git', true)]);
    } else if (tab === 'environment') {
      await this._loadCapture('environment', true);
    }
  }

  private async _loadCapture(kind: CaptureKind, once = false): Promise<void> {
    const current = this._captures[kind];
    if (once && current.status !== 'idle') {
      return;
    }
    this._captures[kind] = { ...current, status: 'loading' };
    this._changed.emit();
    try {
      const value = await this.client.capture(this.runId, kind);
      this._captures[kind] = { status: 'ready', value, error: null };
    } catch (e) {
      this._captures[kind] = { status: 'error', value: null, error: asError(e) };
    }
    if (!this._isDisposed) {
      this._changed.emit();
    }
  }

  private async _loadArtifacts(): Promise<void> {
    this._artifacts = { ...this._artifacts, status: 'loading' };
    this._changed.emit();
    try {
      const value = await this.client.artifacts(this.runId);
      this._artifacts = { status: 'ready', value, error: null };
    } catch (e) {
      this._artifacts = { status: 'error', value: this._artifacts.value, error: asError(e) };
    }
    if (this._isDisposed) {
      return;
    }
    this._changed.emit();
    const pending = this._pendingArtifact;
    if (pending && (this._artifacts.value ?? []).some(a => a.path === pending)) {
      void this.showArtifact(pending);
    }
  }

  private _loadMissingCharts(): void {
    if (!this._chartsShown || !this._run) {
      return;
    }
    const missing = this.chartKeys.filter(k => !this._charts.has(k));
    if (missing.length) {
      void this._loadSeries(missing, false);
    }
  }

  /**
   * Ask the server for these charts' points: the unzoomed ones in one request,
   * each zoomed one in its own (its range). `quiet` keeps the charts as they
   * are until the answer (live refresh). An answer to a question no longer
   * asked (the chart was zoomed again meanwhile) is dropped.
   */
  private async _loadSeries(keys: string[], quiet: boolean): Promise<void> {
    if (!keys.length || !this._run) {
      return;
    }
    const axis = this._axis;
    const tickets = new Map<string, number>();
    for (const key of keys) {
      const chart = this._charts.get(key);
      tickets.set(key, ++this._seriesTicket);
      this._charts.set(key, {
        key,
        status: quiet && chart?.series ? chart.status : 'loading',
        series: chart?.series ?? null,
        zoom: chart?.zoom ?? null,
        error: null
      });
    }
    if (!quiet) {
      this._changed.emit();
    }
    const whole = keys.filter(k => !this._charts.get(k)?.zoom);
    const groups: { keys: string[]; range: Range | null }[] = whole.length ? [{ keys: whole, range: null }] : [];
    for (const key of keys) {
      const zoom = this._charts.get(key)?.zoom;
      if (zoom) {
        groups.push({ keys: [key], range: zoom });
      }
    }
    const current = (key: string) => tickets.get(key) === this._chartTickets.get(key) && axis === this._axis;
    keys.forEach(k => this._chartTickets.set(k, tickets.get(k)!));
    await Promise.all(
      groups.map(async group => {
        try {
          const answer = await this.client.series(this.runId, {
            keys: group.keys,
            x: axis,
            maxPoints: this._maxPoints,
            start: group.range?.[0],
            end: group.range?.[1]
          });
          const byKey = new Map(answer.series.map(s => [s.key, s]));
          for (const key of group.keys) {
            if (!current(key) || this._isDisposed) {
              continue;
            }
            const chart = this._charts.get(key)!;
            this._charts.set(key, { ...chart, status: 'ready', series: byKey.get(key) ?? emptySeries(key), error: null });
          }
        } catch (e) {
          for (const key of group.keys) {
            if (!current(key) || this._isDisposed) {
              continue;
            }
            const chart = this._charts.get(key)!;
            // a failed live refresh keeps the last good points on screen
            this._charts.set(key, quiet && chart.series ? chart : { ...chart, status: 'error', error: asError(e) });
          }
        }
        if (!this._isDisposed) {
          this._changed.emit();
        }
      })
    );
  }

  private _revokePreview(): void {
    if (this._preview?.url) {
      URL.revokeObjectURL(this._preview.url);
    }
  }

  private _emitState(): void {
    this._stateChanged.emit(this.toJSON());
  }

  private _active = false;
  private _artifacts: ILoadable<IArtifact[]> = idle();
  private _axis: XAxis = 'step';
  private _captures: Record<CaptureKind, ILoadable<unknown>> = { code: idle(), git: idle(), environment: idle() };
  private _changed = new Signal<this, void>(this);
  private _charts = new Map<string, IChart>();
  private _chartsShown = false;
  private _chartTickets = new Map<string, number>();
  private _children: IRun[] = [];
  private _chosen: string[] | null = null;
  private _error: MLPError | null = null;
  private _folder = '';
  private _isDisposed = false;
  private _log = false;
  private _maxPoints = DEFAULT_MAX_POINTS;
  private _parent: IRun | null = null;
  private _pendingArtifact: string | null = null;
  private _poll: Poll;
  private _preview: IPreview | null = null;
  private _previewTicket = 0;
  private _run: IRunDetail | null = null;
  private _runId: string;
  private _runTicket = 0;
  private _seriesTicket = 0;
  private _stateChanged = new Signal<this, IRunViewState>(this);
  private _status: LoadState = 'loading';
  private _tab: RunTab = 'overview';
}

function idle<T>(): ILoadable<T> {
  return { status: 'idle', value: null, error: null };
}

function emptySeries(key: string): ISeries {
  return { key, x: [], y: [], count: 0, downsampled: false, nonfinite: 0, min: null, max: null, last: null };
}

function prettyJSON(text: string): string {
  try {
    return JSON.stringify(JSON.parse(text), null, 2);
  } catch {
    return text;
  }
}

function imageType(path: string): string {
  const ext = extension(path);
  return ext === 'svg' ? 'image/svg+xml' : ext === 'jpg' ? 'image/jpeg' : `image/${ext || 'png'}`;
}
