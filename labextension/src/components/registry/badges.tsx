import { TranslationBundle } from '@jupyterlab/translation';
import * as React from 'react';
import { Stage } from '../../api';

/** A stage's name in the user's language. */
export function stageLabel(stage: string, trans: TranslationBundle): string {
  const labels: Record<string, string> = {
    none: trans.__('none'),
    staging: trans.__('staging'),
    production: trans.__('production'),
    archived: trans.__('archived')
  };
  return labels[stage] ?? stage;
}

/** A stage, coloured by kind, with the version in it when given ("production v7"). */
export function StageBadge(props: { stage: Stage | string; version?: number; trans: TranslationBundle }): JSX.Element {
  const { stage, version, trans } = props;
  return (
    <span className={`jp-mlp-StageBadge jp-mlp-mod-${stage}`} data-stage={stage}>
      {version === undefined ? stageLabel(stage, trans) : trans.__('%1 v%2', stageLabel(stage, trans), version)}
    </span>
  );
}
