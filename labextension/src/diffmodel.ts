/**
 * The state of one comparison of runs, apart from its React views: which runs
 * (the first is the baseline), where metrics are read (`at`), whether what is
 * the same is shown, the curves' x axis and the code pair shown; what the
 * server's one `GET diff` answered. While a compared run is still running
 * (`live`) the diff is asked again every few seconds, as long as it is on screen.
 */
import { IDisposable } from '@lumino/disposable';
import { Poll } from '@lumino/polling';
import { ISignal, Signal } from '@lumino/signaling';
import { asError, IDiff, MLPClient, MLPError, XAxis } from './api';
import { pollFrequency } from './model';

/** What a diff view remembers across reloads (the layout restorer keeps it). */
export interface IDiffViewState {
  /** Run ids (or references), baseline first. */
  runs: string[];
  /** `last`, `best:KEY` or a step, as the server's `at`. */
  at: string;
  onlyChanged: boolean;
  axis: XAxis;
  /** Which run's code is compared with the baseline's (3+ runs): its index in `runs`. */
  codeRun: number;
}

export type DiffStatus = 'loading' | 'ready' | 'error';

/** Points per curve and run: enough for a chart half a screen wide. */
export const DIFF_MAX_POINTS = 500;

/** Runs compared at once, at most (each adds a column and a curve per metric). */
export const MAX_COMPARED = 10;

export namespace DiffModel {
  export interface IOptions {
    client: MLPClient;
    /** Run ids or references, baseline first. */
    runs: string[];
    state?: Partial<IDiffViewState> | null;
    /** Seconds between refreshes while a run is live and the view visible (0: none). */
    pollInterval?: number;
  }
}

/** Whether `at` is one the server takes: `last`, `best:KEY` or a step number. */
export function validAt(at: string): boolean {
  return at === 'last' || (at.startsWith('best:') && at.length > 5) || /^\d+$/.test(at);
}

export class DiffModel implements IDisposable {
  constructor(options: DiffModel.IOptions) {
    this.client = options.client;
    this._runs = [...new Set(options.runs.map(r => r.trim()).filter(Boolean))];
    this._restore(options.state ?? null);
    this._poll = new Poll({
      auto: false,
      factory: () => this._tick(),
      frequency: pollFrequency(options.pollInterval ?? 3),
      name: 'jupyter-mlp:diff',
      standby: () => (this._active ? 'when-hidden' : true)
    });
  }

  readonly client: MLPClient;

  /** Anything the views show changed. */
  get changed(): ISignal<this, void> {
    return this._changed;
  }
  /** A state worth remembering across reloads changed. */
  get stateChanged(): ISignal<this, IDiffViewState> {
    return this._stateChanged;
  }
  get isDisposed(): boolean {
    return this._isDisposed;
  }

  /** The runs compared: their ids once the server answered, else the references asked for. */
  get runIds(): string[] {
    return this._diff ? this._diff.runs.map(r => r.id) : [...this._runs];
  }
  get diff(): IDiff | null {
    return this._diff;
  }
  /** Where the first answer is; later requests keep the last diff on screen while `busy`. */
  get status(): DiffStatus {
    return this._status;
  }
  /** A request is on its way (a toggle was flipped, a refresh). */
  get busy(): boolean {
    return this._busy;
  }
  get error(): MLPError | null {
    return this._error;
  }
  get at(): string {
    return this._at;
  }
  get onlyChanged(): boolean {
    return this._onlyChanged;
  }
  get axis(): XAxis {
    return this._axis;
  }
  /** The code pair shown: baseline against this run (an index into the runs, ≥ 1). */
  get codeRun(): number {
    const n = this._diff?.runs.length ?? this._runs.length;
    return this._codeRun >= 1 && this._codeRun < n ? this._codeRun : 1;
  }
  /** When the diff was last answered (ms since the epoch), or null. */
  get updatedAt(): number | null {
    return this._updatedAt;
  }

  toJSON(): IDiffViewState {
    return { runs: this.runIds, at: this._at, onlyChanged: this._onlyChanged, axis: this._axis, codeRun: this._codeRun };
  }

  /** Ask for the diff, showing the loading state until it comes. */
  load(): Promise<void> {
    return this._load(false);
  }

  /** Ask again, keeping the diff on screen until the answer. */
  refresh(): Promise<void> {
    return this._load(true);
  }

  /** Show what is the same too (false), or only what differs (true): asks the server again. */
  setOnlyChanged(onlyChanged: boolean): Promise<void> {
    if (onlyChanged === this._onlyChanged) {
      return Promise.resolve();
    }
    this._onlyChanged = onlyChanged;
    this._emitState();
    return this._load(true);
  }

  /** Read metrics at their last point, at the best step of one metric (`best:KEY`), or at a step. */
  async setAt(at: string): Promise<void> {
    const value = at.trim();
    if (value === this._at || !validAt(value)) {
      return;
    }
    const before = this._at;
    this._at = value;
    this._emitState();
    await this._load(true);
    if (this._error?.field === 'at' && this._at === value) {
      // refused (no run has that metric): the picker goes back to what the diff shows
      this._at = before;
      this._emitState();
      this._changed.emit();
    }
  }

  /** Align the curves by step or by time since each run started (the diff has both). */
  setAxis(axis: XAxis): void {
    if (axis === this._axis) {
      return;
    }
    this._axis = axis;
    this._emitState();
    this._changed.emit();
  }

  /** Compare the baseline's code with run `index`'s (3+ runs). */
  setCodeRun(index: number): void {
    if (index === this._codeRun) {
      return;
    }
    this._codeRun = index;
    this._emitState();
    this._changed.emit();
  }

  /** Seconds between refreshes of a live diff while visible (0: none). */
  setPollInterval(seconds: number): void {
    this._poll.frequency = pollFrequency(seconds);
  }

  /** Whether the view is on screen: a live diff is refreshed only then. */
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
    this._poll.dispose();
    Signal.clearData(this);
  }

  private _restore(state: Partial<IDiffViewState> | null): void {
    if (!state) {
      return;
    }
    if (typeof state.at === 'string' && validAt(state.at)) {
      this._at = state.at;
    }
    if (typeof state.onlyChanged === 'boolean') {
      this._onlyChanged = state.onlyChanged;
    }
    if (state.axis === 'step' || state.axis === 'time') {
      this._axis = state.axis;
    }
    if (typeof state.codeRun === 'number' && Number.isInteger(state.codeRun)) {
      this._codeRun = state.codeRun;
    }
  }

  /** One poll: only a live diff changes; a network failure makes the poll back off. */
  private async _tick(): Promise<void> {
    if (!this._diff?.live || this._busy) {
      return;
    }
    await this._load(true);
    if (this._error?.kind === 'NetworkError') {
      throw this._error;
    }
  }

  private async _load(quiet: boolean): Promise<void> {
    const ticket = ++this._ticket;
    if (this._runs.length < 2) {
      this._status = 'error';
      this._error = new MLPError(
        { error: 'InvalidInput', message: 'a comparison needs two or more runs', field: 'run' },
        0
      );
      this._changed.emit();
      return;
    }
    this._busy = true;
    if (!quiet || !this._diff) {
      this._status = 'loading';
    }
    this._changed.emit();
    try {
      const diff = await this.client.diff({
        runs: this._diff ? this.runIds : this._runs,
        at: this._at,
        onlyChanged: this._onlyChanged,
        maxPoints: DIFF_MAX_POINTS
      });
      if (ticket !== this._ticket || this._isDisposed) {
        return; // an answer to a question no longer asked
      }
      const resolved = !this._diff;
      this._diff = diff;
      this._status = 'ready';
      this._error = null;
      this._updatedAt = Date.now();
      if (resolved) {
        this._emitState(); // references resolved to ids: remember the ids
      }
    } catch (e) {
      if (ticket !== this._ticket || this._isDisposed) {
        return;
      }
      this._error = asError(e);
      if (!this._diff) {
        this._status = 'error';
      }
    }
    this._busy = false;
    this._changed.emit();
  }

  private _emitState(): void {
    this._stateChanged.emit(this.toJSON());
  }

  private _active = false;
  private _at = 'last';
  private _axis: XAxis = 'step';
  private _busy = false;
  private _changed = new Signal<this, void>(this);
  private _codeRun = 1;
  private _diff: IDiff | null = null;
  private _error: MLPError | null = null;
  private _isDisposed = false;
  private _onlyChanged = true;
  private _poll: Poll;
  private _runs: string[];
  private _stateChanged = new Signal<this, IDiffViewState>(this);
  private _status: DiffStatus = 'loading';
  private _ticket = 0;
  private _updatedAt: number | null = null;
}
