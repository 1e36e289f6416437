import { TranslationBundle } from '@jupyterlab/translation';
import * as React from 'react';
import { ITransitionRequest } from '../../api';
import { formatDateTime } from '../../format';
import { ModelPageModel } from '../../registrymodel';
import { StageBadge } from './badges';

/** Open requests of the model, each with its gate and the decisions the user may take. */
export function Requests(props: { model: ModelPageModel; trans: TranslationBundle }): JSX.Element {
  const { model, trans } = props;
  const requests = model.requests;
  return (
    <section className="jp-mlp-Section jp-mlp-Requests" aria-label={trans.__('Pending requests')}>
      <h2 className="jp-mlp-Section-title">{trans.__('Pending requests')}</h2>
      {requests.length === 0 ? (
        <p className="jp-mlp-muted">{trans.__('No open request. Ask for a stage from a version below.')}</p>
      ) : (
        requests.map(r => <RequestCard key={r.id} request={r} model={model} trans={trans} />)
      )}
    </section>
  );
}

/** Why the user may not review a request, in words. */
function refusal(reason: string | null, trans: TranslationBundle): string {
  return reason === 'own'
    ? trans.__('you made this request: an approval must come from someone else')
    : trans.__('you approved this request already');
}

function RequestCard(props: { request: ITransitionRequest; model: ModelPageModel; trans: TranslationBundle }): JSX.Element {
  const { request: r, model, trans } = props;
  const [comment, setComment] = React.useState('');
  const review = model.reviewable(r);
  const busy = model.busy === `request:${r.id}`;
  const judged = r.checks;
  const needed = judged?.approvals.needed ?? r.gate.approvals;
  const have = judged?.approvals.have ?? r.reviews.filter(x => x.decision === 'approve').map(x => x.user);
  const blocked = review.ok ? undefined : refusal(review.reason, trans);
  const decide = (d: 'approve' | 'reject' | 'cancel') =>
    void model.decide(r, d, comment).then(ok => ok && setComment(''));
  return (
    <article className="jp-mlp-Request" data-request-id={r.id} data-requested-by={r.requested_by}>
      <header className="jp-mlp-Request-head">
        <span className="jp-mlp-Request-id">#{r.id}</span>
        <span>{trans.__('version %1', r.version)}</span>
        <StageBadge stage={r.from_stage} trans={trans} />
        <span aria-hidden="true">→</span>
        <StageBadge stage={r.to_stage} trans={trans} />
        <span className="jp-mlp-muted jp-mlp-Request-by">
          {trans.__('requested by %1, %2', r.requested_by, formatDateTime(r.requested_at))}
        </span>
      </header>
      {r.comment && <blockquote className="jp-mlp-Request-comment">{r.comment}</blockquote>}
      <ul className="jp-mlp-Gate" aria-label={trans.__('Gate')}>
        <li className={`jp-mlp-Gate-item jp-mlp-Gate-approvals ${have.length >= needed ? 'jp-mlp-mod-ok' : 'jp-mlp-mod-missing'}`}>
          <span className="jp-mlp-Gate-mark">{have.length >= needed ? '✓' : '✗'}</span>
          {trans.__('approvals %1 of %2', have.length, needed)}
          {have.length > 0 && <span className="jp-mlp-muted"> ({have.join(', ')})</span>}
        </li>
        {(judged?.checks ?? r.gate.checks.map(c => ({ check: c, ok: null, detail: '' }))).map(c => (
          <li
            key={c.check}
            className={`jp-mlp-Gate-item jp-mlp-Gate-check ${c.ok ? 'jp-mlp-mod-ok' : c.ok === false ? 'jp-mlp-mod-missing' : ''}`}
          >
            <span className="jp-mlp-Gate-mark">{c.ok ? '✓' : c.ok === false ? '✗' : '…'}</span>
            <code>{c.check}</code>
            {c.detail && <span className="jp-mlp-muted"> {c.detail}</span>}
          </li>
        ))}
      </ul>
      {r.reason && (
        <p className="jp-mlp-Request-reason" title={trans.__('What the request still needs')}>
          {r.reason}
        </p>
      )}
      {r.reviews.length > 0 && (
        <ul className="jp-mlp-Reviews">
          {r.reviews.map((x, i) => (
            <li key={i}>
              {x.decision === 'approve' ? trans.__('%1 approved', x.user) : trans.__('%1 rejected', x.user)}
              {x.comment && <span className="jp-mlp-muted">: {x.comment}</span>}
            </li>
          ))}
        </ul>
      )}
      <div className="jp-mlp-Request-actions">
        <input
          className="jp-mlp-Request-commentInput"
          type="text"
          value={comment}
          placeholder={trans.__('Comment (optional)')}
          aria-label={trans.__('Comment on request %1', r.id)}
          onChange={e => setComment(e.target.value)}
        />
        <button
          className="jp-mlp-Button jp-mlp-mod-accept jp-mlp-Approve"
          disabled={!review.ok || busy}
          title={blocked ?? trans.__('Approve: the version moves once the gate is met')}
          onClick={() => decide('approve')}
        >
          {trans.__('Approve')}
        </button>
        <button
          className="jp-mlp-Button jp-mlp-mod-reject jp-mlp-Reject"
          disabled={!review.ok || busy}
          title={blocked ?? trans.__('Reject: the request is closed, nothing changes')}
          onClick={() => decide('reject')}
        >
          {trans.__('Reject')}
        </button>
        {model.me !== null && r.requested_by === model.me && (
          <button
            className="jp-mlp-LinkButton jp-mlp-Cancel"
            disabled={busy}
            title={trans.__('Withdraw your request')}
            onClick={() => decide('cancel')}
          >
            {trans.__('Cancel request')}
          </button>
        )}
      </div>
      {blocked && (
        <p className="jp-mlp-muted jp-mlp-Request-blocked" role="note">
          {blocked}
        </p>
      )}
    </article>
  );
}
