/**
 * The model registry apart from its views: the sidebar's list of models
 * (`ModelsModel`) and one model in the main area (`ModelPageModel`) with its
 * versions, open requests and audit log, and the decisions taken on them.
 * Both poll the server only while a view shows them.
 */
import { IDisposable } from '@lumino/disposable';
import { Poll } from '@lumino/polling';
import { ISignal, Signal } from '@lumino/signaling';
import {
  asError,
  Decision,
  IAuditEvent,
  IModelDetail,
  IModelSummary,
  isOpen,
  ITransitionRequest,
  MLPClient,
  MLPError,
  Stage
} from './api';
import { LoadStatus, pollFrequency } from './model';

/** What polls while shown, and says when what it holds changed. */
export abstract class Polled implements IDisposable {
  constructor(name: string, pollInterval: number) {
    this._poll = new Poll({
      auto: false,
      factory: () => this._tick(),
      frequency: pollFrequency(pollInterval),
      name,
      standby: () => (this._active ? 'when-hidden' : true)
    });
  }

  /** Anything the views show changed. */
  get changed(): ISignal<this, void> {
    return this._changed;
  }
  get status(): LoadStatus {
    return this._status;
  }
  /** Why the last load failed. */
  get error(): MLPError | null {
    return this._error;
  }
  get isDisposed(): boolean {
    return this._isDisposed;
  }
  get active(): boolean {
    return this._active;
  }

  /** Whether a view shows it: polling stops while none does. */
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

  setPollInterval(seconds: number): void {
    this._poll.frequency = pollFrequency(seconds);
  }

  /** Load again now; failures land in `error` (the view says them), never rejected. */
  async refresh(): Promise<void> {
    const ticket = ++this._ticket;
    try {
      await this.load(() => ticket === this._ticket && !this._isDisposed);
      if (ticket === this._ticket) {
        this._status = 'ready';
        this._error = null;
      }
    } catch (e) {
      if (ticket === this._ticket) {
        this._status = 'error';
        this._error = asError(e);
      }
    }
    if (!this._isDisposed) {
      this._changed.emit();
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

  /** Fetch and keep what the view shows, while `current()` says the answer is still wanted. */
  protected abstract load(current: () => boolean): Promise<void>;

  protected emit(): void {
    if (!this._isDisposed) {
      this._changed.emit();
    }
  }

  /** One poll: a server that is away makes the poll back off. */
  private async _tick(): Promise<void> {
    await this.refresh();
    if (this._error?.kind === 'NetworkError') {
      throw this._error;
    }
  }

  private _active = false;
  private _changed = new Signal<this, void>(this);
  private _error: MLPError | null = null;
  private _isDisposed = false;
  private _poll: Poll;
  private _status: LoadStatus = 'loading';
  private _ticket = 0;
}

/** What the sidebar's registry section remembers across reloads. */
export interface IRegistryState {
  /** The sidebar shows the registry rather than the runs. */
  open: boolean;
  /** The name filter (`churn*`; a plain word matches names containing it). */
  filter: string;
}

/** The registered models, filtered by name, for the sidebar. */
export class ModelsModel extends Polled {
  constructor(options: { client: MLPClient; pollInterval?: number }) {
    super('jupyter-mlp:models', options.pollInterval ?? 3);
    this.client = options.client;
  }

  readonly client: MLPClient;

  get models(): IModelSummary[] {
    return this._models;
  }
  get filter(): string {
    return this._filter;
  }
  get open(): boolean {
    return this._open;
  }

  /** A state worth remembering across reloads changed. */
  get stateChanged(): ISignal<this, IRegistryState> {
    return this._stateChanged;
  }

  toJSON(): IRegistryState {
    return { open: this._open, filter: this._filter };
  }

  /** Take back a remembered state (malformed parts are ignored). */
  restore(state: Partial<IRegistryState> | null | undefined): void {
    if (typeof state?.open === 'boolean') {
      this._open = state.open;
    }
    if (typeof state?.filter === 'string') {
      this._filter = state.filter;
    }
    this.emit();
  }

  /** Show the registry (true) or the runs (false) in the sidebar. */
  setOpen(open: boolean): void {
    if (open !== this._open) {
      this._open = open;
      this._stateChanged.emit(this.toJSON());
      this.emit();
    }
  }

  /** Filter by name: `*` is a wildcard; a name without one matches names containing it. */
  setFilter(filter: string): Promise<void> {
    const f = filter.trim();
    if (f === this._filter) {
      return Promise.resolve();
    }
    this._filter = f;
    this._stateChanged.emit(this.toJSON());
    return this.refresh();
  }

  protected async load(current: () => boolean): Promise<void> {
    const models = await this.client.models(likePattern(this._filter));
    if (current()) {
      this._models = models;
    }
  }

  private _filter = '';
  private _models: IModelSummary[] = [];
  private _open = false;
  private _stateChanged = new Signal<this, IRegistryState>(this);
}

/** The server's `like` for a filter: as typed with a `*`, else names containing it. */
export function likePattern(filter: string): string | undefined {
  const f = filter.trim();
  return !f ? undefined : f.includes('*') ? f : `*${f}*`;
}

/** What a registry view remembers across reloads. */
export interface IModelPageState {
  name: string;
}

/** Whether the user may approve or reject a request, and why not. */
export interface IReviewable {
  ok: boolean;
  reason: string | null;
}

/** One model in the main area: versions, open requests with their gates, the audit log; decisions. */
export class ModelPageModel extends Polled {
  constructor(options: { client: MLPClient; name: string; me?: string | null; pollInterval?: number }) {
    super(`jupyter-mlp:model:${options.name}`, options.pollInterval ?? 3);
    this.client = options.client;
    this.name = options.name;
    this._me = options.me ?? null;
  }

  readonly client: MLPClient;
  readonly name: string;

  get model(): IModelDetail | null {
    return this._model;
  }
  /** Open requests, newest first. */
  get requests(): ITransitionRequest[] {
    return this._model?.open_requests.filter(isOpen) ?? [];
  }
  /** The audit log, newest first. */
  get audit(): IAuditEvent[] {
    return this._audit;
  }
  /** Who the server says the user is (null: unknown). */
  get me(): string | null {
    return this._me;
  }
  /** The request (or `version:N`) a decision is being sent for. */
  get busy(): string | null {
    return this._busy;
  }
  /** A decision or a promotion request went through (the sidebar's counts are stale). */
  get acted(): ISignal<this, void> {
    return this._acted;
  }
  /** The server's refusal of the last decision or promotion request. */
  get actionError(): MLPError | null {
    return this._actionError;
  }

  setMe(me: string | null): void {
    if (me !== this._me) {
      this._me = me;
      this.emit();
    }
  }

  /** May the user approve or reject this request? Never their own (the server refuses it too). */
  reviewable(request: ITransitionRequest): IReviewable {
    if (this._me !== null && request.requested_by === this._me) {
      return { ok: false, reason: 'own' };
    }
    if (this._me !== null && request.reviews.some(r => r.user === this._me && r.decision === 'approve')) {
      return { ok: false, reason: 'approved' };
    }
    return { ok: true, reason: null };
  }

  /** Approve, reject or cancel a request, then reload; a refusal lands in `actionError`. */
  decide(request: ITransitionRequest, decision: Decision, comment?: string): Promise<boolean> {
    return this._act(`request:${request.id}`, () => this.client.decide(request.id, decision, comment));
  }

  /** Ask to move a version to a stage (applied at once when its gate allows). */
  requestStage(version: number, stage: Stage, comment?: string): Promise<boolean> {
    return this._act(`version:${version}`, () => this.client.requestTransition(this.name, version, stage, comment));
  }

  clearActionError(): void {
    if (this._actionError) {
      this._actionError = null;
      this.emit();
    }
  }

  toJSON(): IModelPageState {
    return { name: this.name };
  }

  protected async load(current: () => boolean): Promise<void> {
    const [model, audit] = await Promise.all([this.client.model(this.name), this.client.audit(this.name)]);
    if (current()) {
      this._model = model;
      this._audit = [...audit].reverse();
    }
  }

  private async _act(key: string, send: () => Promise<unknown>): Promise<boolean> {
    this._busy = key;
    this._actionError = null;
    this.emit();
    let ok = true;
    try {
      await send();
    } catch (e) {
      this._actionError = asError(e);
      ok = false;
    }
    this._busy = null;
    await this.refresh();
    if (ok && !this.isDisposed) {
      this._acted.emit();
    }
    return ok;
  }

  private _acted = new Signal<this, void>(this);
  private _actionError: MLPError | null = null;
  private _audit: IAuditEvent[] = [];
  private _busy: string | null = null;
  private _me: string | null;
  private _model: IModelDetail | null = null;
}
