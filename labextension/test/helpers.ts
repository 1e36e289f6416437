import { ServerConnection } from '@jupyterlab/services';
import { MLPClient } from '../src/api';

export interface ICall {
  url: string;
  method: string;
  body: any;
}

type Reply = { status?: number; body?: unknown; text?: string } | (() => Promise<Response>);

/**
 * A fake Jupyter server: routes (`'POST runs/search'`) answer with a status and
 * a JSON body (or raw text); every request is recorded in `calls`.
 */
export class FakeServer {
  calls: ICall[] = [];
  routes = new Map<string, (call: ICall) => Reply>();

  on(route: string, reply: (call: ICall) => Reply): this {
    this.routes.set(route, reply);
    return this;
  }

  client(): MLPClient {
    const fetch = async (input: RequestInfo | URL, init?: RequestInit): Promise<Response> => {
      const request = input instanceof Request ? input : new Request(String(input), init);
      const text = await request.text();
      const path = new URL(request.url).pathname.replace(/^\/mlp\/api\/v1\//, '');
      const call = { url: request.url, method: request.method, body: text ? JSON.parse(text) : undefined };
      this.calls.push(call);
      const handler = this.routes.get(`${request.method} ${path}`);
      if (!handler) {
        return new Response('<html>404: Not Found</html>', { status: 404, statusText: 'Not Found' });
      }
      const reply = handler(call);
      if (typeof reply === 'function') {
        return reply();
      }
      const body = reply.text ?? JSON.stringify(reply.body);
      return new Response(body, { status: reply.status ?? 200, headers: { 'Content-Type': 'application/json' } });
    };
    const settings = ServerConnection.makeSettings({
      baseUrl: 'http://127.0.0.1:8888/',
      wsUrl: 'ws://127.0.0.1:8888/',
      token: 'secret',
      fetch: fetch as typeof globalThis.fetch,
      Request,
      Headers
    });
    return new MLPClient(settings);
  }

  searches(): ICall[] {
    return this.calls.filter(c => new URL(c.url).pathname.endsWith('/runs/search'));
  }
}

let counter = 0;

export function run(overrides: Record<string, unknown> = {}): any {
  counter += 1;
  return {
    id: counter.toString(16).padStart(32, '0'),
    name: `run-${counter}`,
    experiment: 'demo',
    status: 'finished',
    status_reason: null,
    start_time: 1_700_000_000 + counter,
    end_time: 1_700_000_010 + counter,
    duration: 10,
    user: 'priya',
    host: 'box',
    parent_id: null,
    source_type: 'notebook',
    source_name: 'train.ipynb',
    deleted_at: null,
    params: { lr: 0.1 },
    metrics: { loss: 0.5 },
    tags: {},
    ...overrides
  };
}

export const INFO = {
  version: '0.1.0',
  api: 'v1',
  transport: 'http',
  store: 'sqlite:///tmp/mlp.db',
  schema: '0001',
  schema_expected: '0001',
  artifact_root: '/tmp/artifacts'
};

/** Resolve after pending promise callbacks and timers of `ms` have run. */
export function settle(ms = 0): Promise<void> {
  return new Promise(resolve => setTimeout(resolve, ms));
}
