/**
 * The state of the runs browser, apart from its views: which experiment, the
 * query, the order, the page, the selection and the columns; what the server
 * last answered; polling while the panel is visible. Views read it and call its
 * methods; they hear about changes through `changed`.
 */
import { IDisposable } from '@lumino/disposable';
import { Poll } from '@lumino/polling';
import { ISignal, Signal } from '@lumino/signaling';
import { asError, IExperiment, IInfo, IKeys, IRun, MLPClient, MLPError } from './api';

/** What the panel remembers across reloads (kept in the state database). */
export interface IRunsState {
  experiment: string | null;
  query: string;
  orderBy: string[];
  metricColumns: string[] | null;
  paramColumns: string[] | null;
}

/** Where the last request left the runs: the view shows a state for each. */
export type LoadStatus = 'loading' | 'ready' | 'error';

/** How a click changes the selection: only this run, add/remove it, or extend to it. */
export type SelectMode = 'only' | 'toggle' | 'range';

export namespace RunsModel {
  export interface IOptions {
    client: MLPClient;
    /** Seconds between refreshes while visible (0: no polling). */
    pollInterval?: number;
    pageSize?: number;
  }
}

/** Columns shown when the user chose none: the first keys the page has. */
export const AUTO_COLUMNS = 3;

export const DEFAULT_ORDER = ['-start_time'];

/** How often a model polls: every `seconds` (0: never), backing off to a minute while failing. */
export function pollFrequency(seconds: number): { interval: number; backoff: boolean; max: number } {
  const interval = seconds > 0 ? seconds * 1000 : Poll.NEVER;
  return { interval, backoff: true, max: Math.max(60 * 1000, seconds * 1000) };
}

export class RunsModel implements IDisposable {
  constructor(options: RunsModel.IOptions) {
    this.client = options.client;
    this._pageSize = options.pageSize ?? 50;
    this._poll = new Poll({
      auto: false,
      factory: () => this._tick(),
      frequency: pollFrequency(options.pollInterval ?? 3),
      name: 'jupyter-mlp:runs',
      standby: () => (this._active ? 'when-hidden' : true)
    });
  }

  readonly client: MLPClient;

  /** Anything the views show changed. */
  get changed(): ISignal<this, void> {
    return this._changed;
  }

  /** The selected run ids changed (the comparison view listens to this). */
  get selectionChanged(): ISignal<this, string[]> {
    return this._selectionChanged;
  }

  /** A state worth remembering across reloads changed. */
  get stateChanged(): ISignal<this, IRunsState> {
    return this._stateChanged;
  }

  get isDisposed(): boolean {
    return this._isDisposed;
  }

  get info(): IInfo | null {
    return this._info;
  }
  /** Why the server's handshake failed, if it did (the health strip says it). */
  get infoError(): MLPError | null {
    return this._infoError;
  }
  get experiments(): IExperiment[] {
    return this._experiments;
  }
  /** The experiment shown, or null for all experiments. */
  get experiment(): string | null {
    return this._experiment;
  }
  /** The query as last applied (the filter box may hold an edited one). */
  get query(): string {
    return this._query;
  }
  get orderBy(): string[] {
    return this._orderBy;
  }
  get runs(): IRun[] {
    return this._runs;
  }
  get status(): LoadStatus {
    return this._status;
  }
  /** A failure other than a bad query: server down, refused, ... */
  get error(): MLPError | null {
    return this._error;
  }
  /** The server's refusal of the query or order, with the position of the problem. */
  get queryError(): MLPError | null {
    return this._queryError;
  }
  /** 0-based index of the page shown. */
  get pageIndex(): number {
    return this._cursors.length - 1;
  }
  get pageSize(): number {
    return this._pageSize;
  }
  get hasNext(): boolean {
    return this._nextCursor !== null;
  }
  get hasPrevious(): boolean {
    return this._cursors.length > 1;
  }
  /** When the runs were last loaded (ms since the epoch), or null. */
  get updatedAt(): number | null {
    return this._updatedAt;
  }
  get selection(): string[] {
    return [...this._selection];
  }
  isSelected(id: string): boolean {
    return this._selection.has(id);
  }

  /**
   * Metric keys a column can show: those in use in the experiment shown (the
   * server's, once `loadKeys` ran) and those of the page, `system/` ones last.
   */
  get metricKeys(): string[] {
    return sortKeys([...(this._keys?.metrics ?? []), ...this._pageKeys('metrics')]);
  }
  get paramKeys(): string[] {
    return sortKeys([...(this._keys?.params ?? []), ...this._pageKeys('params')]);
  }
  /** The metric columns shown: the chosen ones, else the first few of the page. */
  get metricColumns(): string[] {
    return (
      this._metricColumns ??
      sortKeys(this._pageKeys('metrics'))
        .filter(k => !k.startsWith('system/'))
        .slice(0, AUTO_COLUMNS)
    );
  }
  get paramColumns(): string[] {
    return this._paramColumns ?? sortKeys(this._pageKeys('params')).slice(0, AUTO_COLUMNS);
  }

  /**
   * Ask the server which metric, param and tag keys the experiment shown uses
   * (for the column picker: keys of runs beyond this page too). Without the
   * route (an older server) the picker offers the page's keys.
   */
  async loadKeys(): Promise<void> {
    const experiment = this._experiment;
    try {
      const keys = await this.client.keys(experiment ? [experiment] : []);
      if (experiment === this._experiment && !this._isDisposed) {
        this._keys = keys;
        this._changed.emit();
      }
    } catch {
      // the page's keys stand in
    }
  }
  /** Whether the columns were chosen by the user rather than taken from the page. */
  get columnsChosen(): boolean {
    return this._metricColumns !== null || this._paramColumns !== null;
  }

  /** The state to remember across reloads. */
  toJSON(): IRunsState {
    return {
      experiment: this._experiment,
      query: this._query,
      orderBy: [...this._orderBy],
      metricColumns: this._metricColumns && [...this._metricColumns],
      paramColumns: this._paramColumns && [...this._paramColumns]
    };
  }

  /** Take back a remembered state (unknown or malformed parts are ignored); reloads page 1. */
  restore(state: Partial<IRunsState> | null | undefined): Promise<void> {
    if (state) {
      if (typeof state.experiment === 'string' || state.experiment === null) {
        this._experiment = state.experiment;
      }
      if (typeof state.query === 'string') {
        this._query = state.query;
      }
      if (isStrings(state.orderBy)) {
        this._orderBy = [...state.orderBy];
      }
      if (state.metricColumns === null || isStrings(state.metricColumns)) {
        this._metricColumns = state.metricColumns;
      }
      if (state.paramColumns === null || isStrings(state.paramColumns)) {
        this._paramColumns = state.paramColumns;
      }
    }
    this._cursors = [null];
    this._nextCursor = null;
    return this.refresh();
  }

  /** Show one experiment's runs, or all of them (null). */
  setExperiment(name: string | null): Promise<void> {
    if (name === this._experiment) {
      return Promise.resolve();
    }
    this._experiment = name;
    this._keys = null;
    return this._reload(true);
  }

  /** Apply a query (the query language of `mlp.runs(where=...)`); '' shows every run. */
  setQuery(query: string): Promise<void> {
    const q = query.trim();
    if (q === this._query && !this._queryError) {
      return Promise.resolve();
    }
    this._query = q;
    return this._reload(true);
  }

  /** Order by fields (`-` for descending), as the server's order_by. */
  setOrder(orderBy: string[]): Promise<void> {
    this._orderBy = [...orderBy];
    return this._reload(true);
  }

  /**
   * A click on a column header: order by that field, descending first for
   * numbers and times, then flip; the previous order becomes the tie-breaker.
   */
  toggleOrder(field: string): Promise<void> {
    const current = this._orderBy[0];
    const first = current === field ? `-${field}` : current === `-${field}` ? field : null;
    const next = first ?? (field === 'name' || field === 'status' ? field : `-${field}`);
    return this.setOrder([next]);
  }

  /** The direction a field is ordered in, if it is the first order key. */
  orderOf(field: string): 'ascending' | 'descending' | null {
    const current = this._orderBy[0];
    return current === field ? 'ascending' : current === `-${field}` ? 'descending' : null;
  }

  setColumns(metrics: string[] | null, params: string[] | null): void {
    this._metricColumns = metrics && [...metrics];
    this._paramColumns = params && [...params];
    this._emitState();
    this._changed.emit();
  }

  setPageSize(size: number): Promise<void> {
    if (!(size >= 1) || size === this._pageSize) {
      return Promise.resolve();
    }
    this._pageSize = Math.floor(size);
    return this._reload(false);
  }

  /** Seconds between refreshes while the panel is visible (0: none). */
  setPollInterval(seconds: number): void {
    this._poll.frequency = pollFrequency(seconds);
    if (this._active) {
      void this._poll.refresh();
    }
  }

  /** Load the page after this one (the server's cursor). */
  async nextPage(): Promise<void> {
    if (this._nextCursor === null) {
      return;
    }
    this._cursors.push(this._nextCursor);
    await this._load();
  }

  async previousPage(): Promise<void> {
    if (this._cursors.length <= 1) {
      return;
    }
    this._cursors.pop();
    await this._load();
  }

  /** Select a run: `only` it, `toggle` it, or a `range` from the last one clicked. */
  select(id: string, mode: SelectMode = 'only'): void {
    if (mode === 'toggle') {
      if (!this._selection.delete(id)) {
        this._selection.add(id);
      }
    } else if (mode === 'range' && this._anchor !== null) {
      const ids = this._runs.map(r => r.id);
      const a = ids.indexOf(this._anchor);
      const b = ids.indexOf(id);
      if (a >= 0 && b >= 0) {
        for (const rid of ids.slice(Math.min(a, b), Math.max(a, b) + 1)) {
          this._selection.add(rid);
        }
      } else {
        this._selection.add(id);
      }
    } else {
      this._selection = new Set([id]);
    }
    if (mode !== 'range') {
      this._anchor = id;
    }
    this._emitSelection();
  }

  clearSelection(): void {
    if (this._selection.size) {
      this._selection.clear();
      this._emitSelection();
    }
  }

  /** Whether the panel is on screen: polling stops while it is not. */
  setActive(active: boolean): void {
    if (active === this._active) {
      return;
    }
    this._active = active;
    if (active) {
      void this._poll.start();
      void this._poll.refresh();
    }
  }
  get active(): boolean {
    return this._active;
  }

  /** Load the handshake, the experiments and the current page again. */
  async refresh(): Promise<void> {
    await Promise.all([this._loadInfo(), this._loadExperiments(), this._load(true)]);
  }

  dispose(): void {
    if (this._isDisposed) {
      return;
    }
    this._isDisposed = true;
    this._poll.dispose();
    Signal.clearData(this);
  }

  /** One poll: a rejection makes the poll back off while the server is away. */
  private async _tick(): Promise<void> {
    await this.refresh();
    if (this._error && this._error.kind === 'NetworkError') {
      throw this._error;
    }
  }

  /** Back to page 1 after the query, order or experiment changed. */
  private async _reload(rememberState: boolean): Promise<void> {
    this._cursors = [null];
    this._nextCursor = null;
    if (rememberState) {
      this._emitState();
    }
    await this._load();
  }

  private async _load(quiet = false): Promise<void> {
    const ticket = ++this._ticket;
    if (!quiet || this._status === 'error') {
      this._status = 'loading';
      this._changed.emit();
    }
    try {
      const page = await this.client.searchRuns({
        experiment: this._experiment,
        where: this._query,
        order_by: this._orderBy,
        limit: this._pageSize,
        cursor: this._cursors[this._cursors.length - 1]
      });
      if (ticket !== this._ticket || this._isDisposed) {
        return; // an answer to a question no longer asked
      }
      this._runs = page.runs;
      this._nextCursor = page.next_cursor;
      this._status = 'ready';
      this._error = null;
      this._queryError = null;
      this._updatedAt = Date.now();
    } catch (e) {
      if (ticket !== this._ticket || this._isDisposed) {
        return;
      }
      const error = asError(e);
      if (error.isQueryError || (error.kind === 'InvalidInput' && isQueryField(error.field))) {
        // keep the last good runs on screen; the filter box shows the error
        this._queryError = error;
        this._status = 'ready';
      } else if (error.kind === 'NotFound' && error.field === 'experiment') {
        // the remembered experiment is gone: show every run instead
        this._experiment = null;
        this._emitState();
        void this._reload(false);
        return;
      } else {
        this._error = error;
        this._status = 'error';
      }
    }
    this._changed.emit();
  }

  private async _loadInfo(): Promise<void> {
    try {
      this._info = await this.client.info();
      this._infoError = null;
    } catch (e) {
      this._infoError = asError(e);
    }
  }

  private async _loadExperiments(): Promise<void> {
    try {
      this._experiments = await this.client.experiments();
    } catch {
      // the runs request reports the failure
    }
  }

  private _pageKeys(field: 'metrics' | 'params'): string[] {
    return this._runs.flatMap(r => Object.keys(r[field] ?? {}));
  }

  private _emitState(): void {
    this._stateChanged.emit(this.toJSON());
  }

  private _emitSelection(): void {
    this._selectionChanged.emit(this.selection);
    this._changed.emit();
  }

  private _active = false;
  private _anchor: string | null = null;
  private _changed = new Signal<this, void>(this);
  private _cursors: (string | null)[] = [null];
  private _error: MLPError | null = null;
  private _experiment: string | null = null;
  private _experiments: IExperiment[] = [];
  private _info: IInfo | null = null;
  private _infoError: MLPError | null = null;
  private _isDisposed = false;
  private _keys: IKeys | null = null;
  private _metricColumns: string[] | null = null;
  private _nextCursor: string | null = null;
  private _orderBy: string[] = [...DEFAULT_ORDER];
  private _pageSize: number;
  private _paramColumns: string[] | null = null;
  private _poll: Poll;
  private _query = '';
  private _queryError: MLPError | null = null;
  private _runs: IRun[] = [];
  private _selection = new Set<string>();
  private _selectionChanged = new Signal<this, string[]>(this);
  private _stateChanged = new Signal<this, IRunsState>(this);
  private _status: LoadStatus = 'loading';
  private _ticket = 0;
  private _updatedAt: number | null = null;
}

function isQueryField(field: string | null): boolean {
  return field === 'where' || field === 'order_by';
}

function isStrings(value: unknown): value is string[] {
  return Array.isArray(value) && value.every(v => typeof v === 'string');
}

function sortKeys(keys: string[]): string[] {
  const unique = [...new Set(keys)];
  const sys = (k: string) => (k.startsWith('system/') ? 1 : 0);
  return unique.sort((a, b) => sys(a) - sys(b) || a.localeCompare(b));
}
