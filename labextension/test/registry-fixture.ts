/** A registry as the server describes it: model `churn`, versions 1 (production) and 2, and alice's request. */
export function request(overrides: Record<string, unknown> = {}): any {
  return {
    id: 7,
    name: 'churn',
    version: 2,
    from_stage: 'none',
    to_stage: 'production',
    status: 'pending',
    requested_by: 'alice',
    requested_at: 1_700_000_100,
    comment: 'better auc',
    gate: { approvals: 1, checks: ['metrics.auc >= 0.85'] },
    checks: {
      approvals: { needed: 1, have: [] },
      checks: [{ check: 'metrics.auc >= 0.85', ok: true, detail: 'holds on the source run' }]
    },
    decided_at: null,
    reason: '1 more approval(s) from someone other than alice',
    reviews: [],
    ...overrides
  };
}

export function version(n: number, stage = 'none'): any {
  return {
    name: 'churn',
    version: n,
    run_id: String(n).repeat(32),
    artifact: 'model',
    source: `runs:/${String(n).repeat(32)}/model`,
    stage,
    description: null,
    info: {},
    created_at: 1_700_000_000 + n,
    created_by: 'alice',
    stage_changed_at: null,
    aliases: n === 1 ? ['champion'] : [],
    tags: {}
  };
}

export function detail(requests: any[] = [request()]): any {
  return {
    name: 'churn',
    description: 'who leaves',
    created_at: 1_700_000_000,
    created_by: 'alice',
    updated_at: 1_700_000_100,
    tags: {},
    aliases: { champion: 1 },
    policy: {},
    policy_is_default: true,
    versions: [version(2), version(1, 'production')],
    open_requests: requests
  };
}

export const SUMMARY = {
  name: 'churn',
  description: 'who leaves',
  updated_at: 1_700_000_100,
  created_by: 'alice',
  latest_version: 2,
  versions: 2,
  stages: { staging: [], production: [1] },
  aliases: { champion: 1 },
  pending_requests: 1
};

export const EVENTS = [
  { id: 1, at: 1_700_000_001, actor: 'alice', model: 'churn', version: 1, action: 'version_created', from: null, to: '1', comment: null, request_id: null },
  { id: 2, at: 1_700_000_100, actor: 'alice', model: 'churn', version: 2, action: 'request_made', from: 'none', to: 'production', comment: 'better auc', request_id: 7 }
];
