/**
 * What every piece of work receives: the signal to honour and the attempt number.
 * @example policy.execute(({ signal }) => fetch(url, { signal }));
 */
export interface ExecuteContext {
  /** Aborted when the caller aborts, a timeout fires, or a hedge's sibling won. */
  readonly signal: AbortSignal;
  /** 1 for the first attempt, 2 for the first retry, … (of the innermost retry policy). */
  readonly attempt: number;
}

/**
 * A cancellation scope. Scopes form a tree (call → timeout → hedge attempt); aborting one aborts
 * its descendants. The AbortController behind `signal` is created only when the work reads it,
 * so a call whose work never looks at its signal allocates none.
 */
export class Scope implements ExecuteContext {
  /** @internal */ _parent: Scope | null;
  /** @internal */ _reason: unknown = undefined;
  /** @internal */ _aborted = false;
  /** @internal */ _controller: AbortController | undefined = undefined;
  /** @internal links to children whose signal exists, so that aborts reach them; created on demand */
  _links: ScopeLinks | undefined = undefined;
  /** @internal */ _attempt: number;
  /** @internal the caller's signal, on the root scope only */
  _external: AbortSignal | undefined = undefined;

  constructor(parent: Scope | null, attempt = 1) {
    this._parent = parent;
    this._attempt = attempt;
  }

  get attempt(): number {
    return this._attempt;
  }

  get signal(): AbortSignal {
    let c = this._controller;
    if (c === undefined) {
      c = new AbortController();
      this._controller = c;
      const reason = this.abortReason();
      if (reason.aborted) {
        c.abort(reason.reason);
      } else if (this._parent !== null) {
        this._parent._link(this);
      }
    }
    return c.signal;
  }

  /** True when this scope or an ancestor was aborted. */
  get aborted(): boolean {
    for (let s: Scope | null = this; s !== null; s = s._parent) {
      if (s._aborted) return true;
      const ext = s._external;
      if (ext?.aborted) return true;
    }
    return false;
  }

  /** The nearest abort reason on the way up, if any. */
  abortReason(): { aborted: boolean; reason: unknown } {
    for (let s: Scope | null = this; s !== null; s = s._parent) {
      if (s._aborted) return { aborted: true, reason: s._reason };
      const ext = s._external;
      if (ext?.aborted) return { aborted: true, reason: ext.reason };
    }
    return NOT_ABORTED;
  }

  /** Aborts this scope and every linked descendant. The first reason wins. */
  abort(reason: unknown): void {
    if (this._aborted) return;
    this._aborted = true;
    this._reason = reason;
    this._controller?.abort(reason);
    for (let c = this._links?.first ?? null; c !== null; c = (c._links as ScopeLinks).next) c.abort(reason);
  }

  /** Detaches from the parent; call when the scope's work has settled. */
  dispose(): void {
    if (this._links?.linked === true && this._parent !== null) this._parent._unlink(this);
  }

  /** @internal */
  _link(child: Scope): void {
    this._links ??= new ScopeLinks();
    const mine = this._links;
    // Make sure our own ancestors will reach us (and so the child) too.
    if (this._parent !== null && !mine.linked) this._parent._link(this);
    child._links ??= new ScopeLinks();
    const theirs = child._links;
    theirs.linked = true;
    theirs.prev = null;
    theirs.next = mine.first;
    if (mine.first !== null) (mine.first._links as ScopeLinks).prev = child;
    mine.first = child;
  }

  /** @internal */
  _unlink(child: Scope): void {
    const mine = this._links as ScopeLinks;
    const theirs = child._links as ScopeLinks;
    if (theirs.prev !== null) (theirs.prev._links as ScopeLinks).next = theirs.next;
    else mine.first = theirs.next;
    if (theirs.next !== null) (theirs.next._links as ScopeLinks).prev = theirs.prev;
    theirs.prev = theirs.next = null;
    theirs.linked = false;
  }
}

/** Where a scope sits among its parent's linked children, and its own first child. @internal */
class ScopeLinks {
  first: Scope | null = null;
  prev: Scope | null = null;
  next: Scope | null = null;
  linked = false;
}

const NOT_ABORTED = Object.freeze({ aborted: false, reason: undefined });
