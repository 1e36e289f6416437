import { TranslationBundle } from '@jupyterlab/translation';
import * as React from 'react';
import { IEnvironmentCapture } from '../../api';
import { formatValue } from '../../format';
import { RunModel } from '../../runmodel';
import { Failure, Loading } from '../states';

/** Interpreter and host, installed packages, environment variables (secrets were redacted when captured). */
export function EnvironmentTab(props: { model: RunModel; trans: TranslationBundle }): JSX.Element {
  const { model, trans } = props;
  const env = model.environment;
  if (env.status === 'loading' || env.status === 'idle') {
    return <Loading label={trans.__('Loading the captured environment…')} />;
  }
  if (env.status === 'error' && env.error) {
    return (
      <Failure title={trans.__('Could not load the environment')} error={env.error} trans={trans} onRetry={() => void model.refresh()} />
    );
  }
  if (!env.value) {
    return (
      <div className="jp-mlp-State" role="status">
        <p className="jp-mlp-State-title">{trans.__('No environment was captured for this run')}</p>
        <p className="jp-mlp-muted">
          {trans.__('Runs capture the interpreter, packages and environment variables by themselves, unless started with capture=False.')}
        </p>
      </div>
    );
  }
  return <EnvironmentView env={env.value} trans={trans} />;
}

function facts(trans: TranslationBundle): [keyof IEnvironmentCapture, string][] {
  return [
    ['python', trans.__('Python')],
    ['implementation', trans.__('Implementation')],
    ['executable', trans.__('Executable')],
    ['platform', trans.__('Platform')],
    ['hostname', trans.__('Host')],
    ['user', trans.__('User')],
    ['cwd', trans.__('Working directory')]
  ];
}

function EnvironmentView(props: { env: IEnvironmentCapture; trans: TranslationBundle }): JSX.Element {
  const { env, trans } = props;
  const [filter, setFilter] = React.useState('');
  const needle = filter.trim().toLowerCase();
  const matches = (k: string, v: unknown) => !needle || k.toLowerCase().includes(needle) || String(v).toLowerCase().includes(needle);
  const packages = Object.entries(env.packages ?? {}).sort(([a], [b]) => a.localeCompare(b));
  const vars = Object.entries(env.env ?? {}).sort(([a], [b]) => a.localeCompare(b));
  const shownPackages = packages.filter(([k, v]) => matches(k, v));
  const shownVars = vars.filter(([k, v]) => matches(k, v));
  return (
    <div className="jp-mlp-EnvironmentTab">
      {env.error && <p className="jp-mlp-Note">{trans.__('Parts could not be captured: %1', env.error)}</p>}
      <section className="jp-mlp-Section" aria-label={trans.__('Interpreter')}>
        <h2 className="jp-mlp-Section-title">{trans.__('Interpreter and host')}</h2>
        <table className="jp-mlp-KV">
          <tbody>
            {facts(trans)
              .filter(([k]) => env[k] !== undefined && env[k] !== null)
              .map(([k, label]) => (
              <tr key={k} data-fact={k}>
                <th>{label}</th>
                <td>
                  <code>{formatValue(env[k])}</code>
                </td>
              </tr>
            ))}
          </tbody>
        </table>
      </section>
      <input
        className="jp-mlp-TableFilter"
        type="search"
        placeholder={trans.__('Filter packages and variables')}
        aria-label={trans.__('Filter packages and variables')}
        value={filter}
        onChange={e => setFilter(e.target.value)}
      />
      <section className="jp-mlp-Section jp-mlp-Packages" aria-label={trans.__('Packages')}>
        <h2 className="jp-mlp-Section-title">
          {trans.__('Packages')}{' '}
          <span className="jp-mlp-muted">{needle ? `${shownPackages.length} / ${packages.length}` : packages.length}</span>
        </h2>
        {packages.length === 0 ? (
          <p className="jp-mlp-muted">{trans.__('No package list was captured.')}</p>
        ) : (
          <table className="jp-mlp-KV">
            <tbody>
              {shownPackages.map(([name, version]) => (
                <tr key={name} data-package={name}>
                  <th>{name}</th>
                  <td>{version}</td>
                </tr>
              ))}
            </tbody>
          </table>
        )}
      </section>
      {vars.length > 0 && (
        <section className="jp-mlp-Section jp-mlp-EnvVars" aria-label={trans.__('Environment variables')}>
          <h2 className="jp-mlp-Section-title">
            {trans.__('Environment variables')}{' '}
            <span className="jp-mlp-muted">{needle ? `${shownVars.length} / ${vars.length}` : vars.length}</span>
          </h2>
          <table className="jp-mlp-KV">
            <tbody>
              {shownVars.map(([name, value]) => (
                <tr key={name}>
                  <th>{name}</th>
                  <td>
                    <code>{value}</code>
                  </td>
                </tr>
              ))}
            </tbody>
          </table>
        </section>
      )}
    </div>
  );
}
