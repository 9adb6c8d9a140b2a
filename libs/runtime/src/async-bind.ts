import { AsyncResource } from 'node:async_hooks';

type Fn = (...args: unknown[]) => unknown;

/** The source text of an object's method (read, not called). */
export const sourceOf = (object: object, method: string): string =>
  Function.prototype.toString.call(Reflect.get(object, method));

/**
 * Node 20's `AsyncResource#bind` wraps two functions in `util.deprecate()` on every call (the getter and setter of the
 * deprecated `asyncResource` property, DEP0172), and `deprecate()` re-prototypes each wrapper: about 10 µs a bind,
 * measured here. Fastify's body parser and Nest's interceptor chain bind on every request, so on the create path of
 * the API that came to about 8% of its CPU. This installs, once per process, the same binding: the function runs in
 * the resource's async scope, with `thisArg` (or the caller's `this`), and keeps its `length`; `asyncResource` is a
 * plain property instead of a deprecated accessor (about 0.7 µs a bind). A Node whose `bind` does not build
 * deprecation wrappers is left as it is.
 */
export function installLeanAsyncBind(): boolean {
  const proto = AsyncResource.prototype as AsyncResource & { leanBind?: true };
  if (proto.leanBind || !/\bdeprecate\(/.test(sourceOf(proto, 'bind'))) return false;
  Object.defineProperty(proto, 'leanBind', { value: true });
  proto.bind = function bind<F extends (...args: never[]) => unknown>(this: AsyncResource, fn: F, thisArg?: unknown) {
    if (typeof fn !== 'function') throw new TypeError(`The "fn" argument must be of type function`);
    // eslint-disable-next-line @typescript-eslint/no-this-alias -- the resource the bound function runs in
    const resource = this;
    const bound =
      thisArg === undefined
        ? function (this: unknown, ...args: unknown[]) {
            return resource.runInAsyncScope(fn as unknown as Fn, this, ...args);
          }
        : resource.runInAsyncScope.bind(resource, fn as unknown as Fn, thisArg);
    Object.defineProperty(bound, 'length', { value: fn.length, configurable: true });
    Object.defineProperty(bound, 'asyncResource', {
      value: resource,
      enumerable: true,
      configurable: true,
      writable: true,
    });
    return bound as unknown as F & { asyncResource: AsyncResource };
  } as typeof proto.bind;
  return true;
}
