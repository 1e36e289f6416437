import { LabIcon } from '@jupyterlab/ui-components';

/** The ML Platform mark: a rising curve over three bars. */
const svgstr = `<svg xmlns="http://www.w3.org/2000/svg" width="16" height="16" viewBox="0 0 24 24">
  <g class="jp-icon3" fill="#616161">
    <rect x="3" y="14" width="4" height="7" rx="1"/>
    <rect x="10" y="10" width="4" height="11" rx="1"/>
    <rect x="17" y="6" width="4" height="15" rx="1"/>
  </g>
  <path class="jp-icon-accent2" fill="none" stroke="#616161" stroke-width="2" stroke-linecap="round"
        d="M3 10 L9 6 L14 8 L21 2"/>
</svg>`;

export const mlpIcon = new LabIcon({ name: 'jupyter-mlp:icon', svgstr });
