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
  searchRuns(query: ISearchQuery): Promise<IRunPage> {
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
    return this.request<IRunPage>('runs/search', {
      method: 'POST',
      body: JSON.stringify(body)
    });
  }

  /** A JSON request under the API path; refusals become `MLPError`. */
  async request<T>(path: string, init: RequestInit = {}): Promise<T> {
    const url = URLExt.join(this.serverSettings.baseUrl, API_PATH, path);
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
    const text = await response.text();
    let data: any = undefined;
    try {
      data = text ? parseJSON(text) : undefined;
    } catch {
      data = undefined;
    }
    if (!response.ok) {
      throw new MLPError(errorBody(data, response, text), response.status);
    }
    if (data === undefined) {
      throw new MLPError(
        { error: 'ServerError', message: `${url} answered with something that is not JSON`, field: null },
        response.status
      );
    }
    return data as T;
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
