import { ReactWidget } from '@jupyterlab/ui-components';
import { Message } from '@lumino/messaging';

/** A model that polls the server only while a view shows it. */
export interface IActivatable {
  setActive(active: boolean): void;
}

/** A React widget that tells its model whether it is on screen. */
export abstract class ModelWidget extends ReactWidget {
  abstract readonly model: IActivatable;

  protected onAfterShow(msg: Message): void {
    super.onAfterShow(msg);
    this.model.setActive(true);
  }

  protected onAfterHide(msg: Message): void {
    super.onAfterHide(msg);
    this.model.setActive(false);
  }

  protected onAfterAttach(msg: Message): void {
    super.onAfterAttach(msg);
    this.model.setActive(this.isVisible);
  }

  protected onBeforeDetach(msg: Message): void {
    this.model.setActive(false);
    super.onBeforeDetach(msg);
  }
}
