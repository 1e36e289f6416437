// The one function of react-dom/server the view tests use (the package ships no types).
declare module 'react-dom/server' {
  import { ReactElement } from 'react';
  export function renderToStaticMarkup(element: ReactElement): string;
}
