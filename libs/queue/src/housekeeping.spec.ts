import assert from 'node:assert/strict';
import { test } from 'node:test';
import { housekeepingEvery } from './housekeeping';

test('housekeeping jobs never land on a whole second, where schedules fire', () => {
  for (const every of [100, 200, 250, 1000, 1234, 1500, 2000, 15_000, 60_000]) {
    const { offset } = housekeepingEvery(every);
    assert.ok(offset < every);
    // BullMQ places runs at offset + k * every from the epoch.
    for (let k = 0; k < 1000; k++) assert.notEqual((offset + k * every) % 1000, 0, `every ${every}, run ${k}`);
  }
  assert.deepEqual(housekeepingEvery(1000), { every: 1000, offset: 500 });
});
