import { TranslationBundle } from '@jupyterlab/translation';
import * as React from 'react';
import { RunsModel } from '../model';

/** The experiments, with their run counts; one click shows an experiment's runs, or all of them. */
export function ExperimentList(props: { model: RunsModel; trans: TranslationBundle }): JSX.Element {
  const { model, trans } = props;
  const total = model.experiments.reduce((n, e) => n + (e.runs ?? 0), 0);
  const item = (name: string | null, label: string, count: number) => (
    <li key={name ?? '\u0000all'}>
      <button
        className={`jp-mlp-Experiment${model.experiment === name ? ' jp-mod-selected' : ''}`}
        aria-pressed={model.experiment === name}
        onClick={() => void model.setExperiment(name)}
        title={label}
      >
        <span className="jp-mlp-Experiment-name">{label}</span>
        <span className="jp-mlp-Experiment-count">{count}</span>
      </button>
    </li>
  );
  return (
    <nav className="jp-mlp-Experiments" aria-label={trans.__('Experiments')}>
      <ul>
        {item(null, trans.__('All experiments'), total)}
        {model.experiments.map(e => item(e.name, e.name, e.runs))}
      </ul>
    </nav>
  );
}
