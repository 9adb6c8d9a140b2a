import assert from 'node:assert/strict';
import { AsyncLocalStorage, AsyncResource } from 'node:async_hooks';
import { test } from 'node:test';
import { installLeanAsyncBind, sourceOf } from './async-bind';

/** Node's own typings leave out bind's thisArg and the bound function's asyncResource. */
type Bind = (
  fn: (...args: never[]) => unknown,
  thisArg?: unknown,
) => ((...args: unknown[]) => unknown) & {
  asyncResource: AsyncResource;
};

const bindIn =
  (resource: AsyncResource): Bind =>
  (fn, thisArg) =>
    (resource as unknown as { bind: Bind }).bind(fn, thisArg);

test('the lean AsyncResource#bind keeps the binding: async scope, this, thisArg, length, asyncResource', async () => {
  const deprecating = /\bdeprecate\(/.test(sourceOf(AsyncResource.prototype, 'bind'));
  assert.equal(installLeanAsyncBind(), deprecating, "installed where Node's own bind builds deprecation wrappers");
  assert.equal(installLeanAsyncBind(), false, 'installs once');
  assert.doesNotMatch(sourceOf(AsyncResource.prototype, 'bind'), /\bdeprecate\(/);
  const als = new AsyncLocalStorage<string>();
  // Bound inside one context, called from another: the function sees the context it was bound in.
  const bound = als.run('request-1', () =>
    bindIn(new AsyncResource('test'))(function (this: unknown, a: number, b: number) {
      return { store: als.getStore(), self: this, sum: a + b };
    }),
  );
  const seen = als.run('request-2', () => bound.call('caller', 1, 2));
  assert.deepEqual(seen, { store: 'request-1', self: 'caller', sum: 3 });
  assert.equal(bound.length, 2);
  assert.ok(bound.asyncResource instanceof AsyncResource);

  const resource = new AsyncResource('test');
  const withThis = bindIn(resource)(function (this: unknown) {
    return this;
  }, 'fixed');
  assert.equal(withThis.call('caller'), 'fixed');
  assert.equal(withThis.asyncResource, resource);
  assert.throws(() => bindIn(resource)(42 as never), TypeError);

  // Across an await, as Nest's interceptors use it: the scope holds for what the bound function starts.
  const later = als.run('request-3', () =>
    AsyncResource.bind(async () => {
      await new Promise((r) => setImmediate(r));
      return als.getStore();
    }),
  );
  assert.equal(await later(), 'request-3');
});
