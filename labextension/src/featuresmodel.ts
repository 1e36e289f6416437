/**
 * The feature store apart from its views: the sidebar's list of feature views
 * (`FeaturesModel`) and the view opened from it (`FeatureViewModel`) with its
 * freshness, materializations, statistics and newest rows. Only what is shown
 * polls: the list, or the opened view.
 */
import { ISignal, Signal } from '@lumino/signaling';
import {
  asError,
  IFeatureSample,
  IFeatureStats,
  IFeatureView,
  IFeatureViewDetail,
  IFreshness,
  IMaterialization,
  MLPClient,
  MLPError
} from './api';
import { Polled } from './registrymodel';

/** What the sidebar's Features section remembers across reloads. */
export interface IFeaturesState {
  /** The sidebar shows the feature store. */
  open: boolean;
  /** The feature view opened from the list (null: the list). */
  selected: string | null;
}

/** Materializations the opened view lists, newest first. */
export const RECENT_MATERIALIZATIONS = 10;

/** Rows of the source the opened view shows. */
export const SAMPLE_ROWS = 10;

/** The feature views with their freshness, and the one opened from the list. */
export class FeaturesModel extends Polled {
  constructor(options: { client: MLPClient; pollInterval?: number }) {
    const pollInterval = options.pollInterval ?? 3;
    super('jupyter-mlp:features', pollInterval);
    this.client = options.client;
    this._pollInterval = pollInterval;
  }

  readonly client: MLPClient;

  get views(): IFeatureView[] {
    return this._views;
  }
  get open(): boolean {
    return this._open;
  }
  /** The opened view's name (null: the list is shown). */
  get selected(): string | null {
    return this._detail?.name ?? null;
  }
  get detail(): FeatureViewModel | null {
    return this._detail;
  }

  /** A state worth remembering across reloads changed. */
  get stateChanged(): ISignal<this, IFeaturesState> {
    return this._stateChanged;
  }

  toJSON(): IFeaturesState {
    return { open: this._open, selected: this.selected };
  }

  /** Take back a remembered state (malformed parts are ignored). */
  restore(state: Partial<IFeaturesState> | null | undefined): void {
    if (typeof state?.open === 'boolean') {
      this._open = state.open;
    }
    if (typeof state?.selected === 'string' || state?.selected === null) {
      this._select(state.selected);
    }
    this.emit();
  }

  /** Show the feature store in the sidebar (true) or not. */
  setOpen(open: boolean): void {
    if (open !== this._open) {
      this._open = open;
      this._stateChanged.emit(this.toJSON());
      this.emit();
    }
  }

  /** Open a view's detail (null: back to the list); the detail loads at once when shown. */
  select(name: string | null): void {
    if (name === this.selected) {
      return;
    }
    this._select(name);
    this._stateChanged.emit(this.toJSON());
    this.emit();
  }

  /** The list polls while shown without a view opened; the opened view polls instead. */
  setActive(active: boolean): void {
    this._shown = active;
    super.setActive(active && !this._detail);
    this._detail?.setActive(active);
  }

  setPollInterval(seconds: number): void {
    this._pollInterval = seconds;
    super.setPollInterval(seconds);
    this._detail?.setPollInterval(seconds);
  }

  dispose(): void {
    this._detail?.dispose();
    super.dispose();
  }

  protected async load(current: () => boolean): Promise<void> {
    const views = await this.client.featureViews();
    if (current()) {
      this._views = views;
    }
  }

  private _select(name: string | null): void {
    this._detail?.dispose();
    this._detail = name ? new FeatureViewModel({ client: this.client, name, pollInterval: this._pollInterval }) : null;
    this._detail?.changed.connect(() => this.emit(), this);
    this.setActive(this._shown);
  }

  private _detail: FeatureViewModel | null = null;
  private _open = false;
  private _pollInterval: number;
  private _shown = false;
  private _stateChanged = new Signal<this, IFeaturesState>(this);
  private _views: IFeatureView[] = [];
}

/**
 * One feature view: definition, versions, freshness and recent materializations
 * at every poll; statistics and the newest rows (which scan the source) when
 * first shown, when the version or the last materialization changes, and on
 * `reload()`. A source that cannot be read fails only those, in their own errors.
 */
export class FeatureViewModel extends Polled {
  constructor(options: { client: MLPClient; name: string; pollInterval?: number }) {
    super(`jupyter-mlp:feature-view:${options.name}`, options.pollInterval ?? 3);
    this.client = options.client;
    this.name = options.name;
  }

  readonly client: MLPClient;
  readonly name: string;

  get view(): IFeatureViewDetail | null {
    return this._view;
  }
  get freshness(): IFreshness | null {
    return this._freshness;
  }
  /** Newest first. */
  get materializations(): IMaterialization[] {
    return this._materializations;
  }
  get stats(): IFeatureStats | null {
    return this._stats;
  }
  get statsError(): MLPError | null {
    return this._statsError;
  }
  get sample(): IFeatureSample | null {
    return this._sample;
  }
  get sampleError(): MLPError | null {
    return this._sampleError;
  }

  /** Load everything again now, statistics and rows included. */
  reload(): Promise<void> {
    this._scanned = null;
    return this.refresh();
  }

  protected async load(current: () => boolean): Promise<void> {
    const [view, freshness, materializations] = await Promise.all([
      this.client.featureView(this.name),
      this.client.freshness(this.name),
      this.client.materializations(this.name, RECENT_MATERIALIZATIONS)
    ]);
    if (!current()) {
      return;
    }
    this._view = view;
    this._freshness = freshness.find(f => f.view === this.name) ?? null;
    this._materializations = materializations;
    const scan = `${view.version}:${materializations.find(m => m.status !== 'running')?.id ?? ''}`;
    if (scan !== this._scanned) {
      await this._scan(scan, current);
    }
  }

  private async _scan(scan: string, current: () => boolean): Promise<void> {
    const [stats, sample] = await Promise.allSettled([
      this.client.featureStats(this.name),
      this.client.featureSample(this.name, SAMPLE_ROWS)
    ]);
    if (!current()) {
      return;
    }
    this._scanned = scan;
    this._stats = stats.status === 'fulfilled' ? stats.value : null;
    this._statsError = stats.status === 'rejected' ? asError(stats.reason) : null;
    this._sample = sample.status === 'fulfilled' ? sample.value : null;
    this._sampleError = sample.status === 'rejected' ? asError(sample.reason) : null;
  }

  private _freshness: IFreshness | null = null;
  private _materializations: IMaterialization[] = [];
  private _sample: IFeatureSample | null = null;
  private _sampleError: MLPError | null = null;
  private _scanned: string | null = null;
  private _stats: IFeatureStats | null = null;
  private _statsError: MLPError | null = null;
  private _view: IFeatureViewDetail | null = null;
}
