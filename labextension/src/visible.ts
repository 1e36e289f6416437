import { ReactWidget } from '@jupyterlab/ui-components';
import { Message } from '@lumino/messaging';

/** A model that polls the server only while a view shows it. */
export interface IActivatable {
  setActive(active: boolean): void;
}

/** A React widget that tells its model whether it is on screen. */
export abstract class ModelWidget extends ReactWidget {
  abstract readonly model: IActivatable;

  /** Tell the model whether the widget is on screen (a widget showing several models splits it). */
  protected setActive(active: boolean): void {
    this.model.setActive(active);
  }

  protected onAfterShow(msg: Message): void {
    super.onAfterShow(msg);
    this.setActive(true);
  }

  protected onAfterHide(msg: Message): void {
    super.onAfterHide(msg);
    this.setActive(false);
  }

  protected onAfterAttach(msg: Message): void {
    super.onAfterAttach(msg);
    this.setActive(this.isVisible);
  }

  protected onBeforeDetach(msg: Message): void {
    this.setActive(false);
    super.onBeforeDetach(msg);
  }
}
