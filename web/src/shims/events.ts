// Browser stand-in for Node's "events" module, which a dependency of
// Cornerstone (xmlbuilder2) extends at load time. Only what it needs.
type Fn = (...args: unknown[]) => void;
export class EventEmitter {
  private _ev = new Map<string | symbol, Fn[]>();
  on(name: string | symbol, fn: Fn): this {
    this._ev.set(name, [...(this._ev.get(name) ?? []), fn]);
    return this;
  }
  addListener(name: string | symbol, fn: Fn): this {
    return this.on(name, fn);
  }
  once(name: string | symbol, fn: Fn): this {
    const w: Fn = (...a) => {
      this.off(name, w);
      fn(...a);
    };
    return this.on(name, w);
  }
  off(name: string | symbol, fn: Fn): this {
    this._ev.set(name, (this._ev.get(name) ?? []).filter((f) => f !== fn));
    return this;
  }
  removeListener(name: string | symbol, fn: Fn): this {
    return this.off(name, fn);
  }
  removeAllListeners(name?: string | symbol): this {
    if (name === undefined) this._ev.clear();
    else this._ev.delete(name);
    return this;
  }
  emit(name: string | symbol, ...args: unknown[]): boolean {
    const l = this._ev.get(name);
    if (!l || l.length === 0) return false;
    for (const f of [...l]) f(...args);
    return true;
  }
  listenerCount(name: string | symbol): number {
    return this._ev.get(name)?.length ?? 0;
  }
}
export default EventEmitter;
(EventEmitter as unknown as { EventEmitter: typeof EventEmitter }).EventEmitter = EventEmitter;
