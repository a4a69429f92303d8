// Rollback as a stack: push an undo right after each side effect, `commit()` as
// the last step; `rollback()` runs the undos in reverse. A failing undo is
// reported on stderr and never replaces the original error.

/** A stack of undo actions for one command. */
export class Undo {
  private actions: Array<{ what: string; fn: () => unknown }> = [];

  /** Registers how to undo the side effect that just happened. */
  push(what: string, fn: () => unknown): void {
    this.actions.push({ what, fn });
  }

  /** Forgets every undo: the command succeeded. */
  commit(): void {
    this.actions = [];
  }

  /** Runs every undo, newest first. */
  async rollback(): Promise<void> {
    const list = this.actions.reverse();
    this.actions = [];
    for (const a of list) {
      try {
        await a.fn();
      } catch (e) {
        process.stderr.write(`rollback: failed to ${a.what}: ${e instanceof Error ? e.message : e}\n`);
      }
    }
  }

  /** Runs `body`; on any failure rolls back and rethrows the original error. */
  static async run<T>(body: (undo: Undo) => Promise<T>): Promise<T> {
    const undo = new Undo();
    try {
      const out = await body(undo);
      undo.commit();
      return out;
    } catch (e) {
      await undo.rollback();
      throw e;
    }
  }
}
