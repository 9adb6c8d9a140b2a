import { BatonError, validationFailed, type ErrorDetail } from '@baton/core';
import type { TargetState } from './schedule.store';
import type { ScheduleRecord, ScheduleRunRecord, TargetSpec } from './schedule.types';

/** API.md's target types. A type may be known (its body is checked) before a target for it is registered. */
export const TARGET_TYPES = ['batch', 'task', 'inference'] as const;
export type TargetType = (typeof TARGET_TYPES)[number];

/** The body of a target without its `type`: what would be POSTed to that type's create endpoint. */
export const targetBody = (target: TargetSpec): Record<string, unknown> =>
  Object.fromEntries(Object.entries(target).filter(([k]) => k !== 'type'));

/** A run's request to create its target. `id` is fixed by the run, so dispatching twice creates one object. */
export interface Dispatch {
  id: string;
  run: ScheduleRunRecord;
  schedule: ScheduleRecord;
  body: Record<string, unknown>;
}

/**
 * One kind of work a schedule can start (task, batch, inference). Each is created as if POSTed to its own API: the
 * same checks, the same service.
 */
export interface ScheduleTarget {
  readonly type: TargetType;
  /**
   * Problems with a create body that has passed its shape check, field names relative to the body (the caller
   * prefixes `target.`).
   */
  validate(body: Record<string, unknown>, tenantId: string): ErrorDetail[];
  /** A new id for the object a run creates (its API's id prefix). */
  newId(): string;
  /** Creates the object with `dispatch.id`; creating an id that exists returns it (idempotent). */
  dispatch(dispatch: Dispatch): Promise<void>;
  /** The current state of objects by id; ids not found are absent. */
  states(ids: string[]): Promise<Map<string, TargetState>>;
  /** Cancels the object (overlap `cancel_previous`). */
  cancel(id: string, tenantId: string): Promise<void>;
}

/** The fields a target's own check refuses (the details of its validation_failed), or none. */
export function problemsOf(check: () => unknown): ErrorDetail[] {
  try {
    check();
    return [];
  } catch (error) {
    if (error instanceof BatonError && error.details) return error.details;
    throw error;
  }
}

/** A run whose target type has no implementation in this build: the run fails with this code, never silently. */
export class TargetUnavailableError extends Error {
  readonly code = 'target_unavailable';
  constructor(type: string) {
    super(`target type ${type} is not available in this deployment`);
    this.name = 'TargetUnavailableError';
  }
}

const isObject = (v: unknown): v is Record<string, unknown> => typeof v === 'object' && v !== null && !Array.isArray(v);

/** The targets registered by type. Unregistered known types are still checked by shape (API.md) when created. */
export class TargetRegistry {
  private readonly byType = new Map<string, ScheduleTarget>();

  constructor(
    targets: ScheduleTarget[],
    private readonly shapeChecks: Partial<Record<TargetType, (body: Record<string, unknown>) => ErrorDetail[]>> = {},
  ) {
    for (const t of targets) {
      if (this.byType.has(t.type)) throw new Error(`schedule target ${t.type} registered twice`);
      this.byType.set(t.type, t);
    }
  }

  get(type: string): ScheduleTarget {
    const target = this.byType.get(type);
    if (!target) throw new TargetUnavailableError(type);
    return target;
  }

  has(type: string): boolean {
    return this.byType.has(type);
  }

  /** Checks a schedule's `target`: a known type, and a body that its own API would accept. */
  validate(target: unknown, tenantId: string): TargetSpec {
    if (!isObject(target)) throw validationFailed([{ field: 'target', message: 'must be an object with a type' }]);
    const type = target.type;
    if (typeof type !== 'string' || !TARGET_TYPES.includes(type as TargetType)) {
      throw validationFailed([{ field: 'target.type', message: `must be one of ${TARGET_TYPES.join(', ')}` }]);
    }
    const body = targetBody(target as TargetSpec);
    // Shape first (types, ranges, unknown fields), as the type's own endpoint checks it at its edge; then its rules.
    const errors = this.shapeChecks[type as TargetType]?.(body) ?? [];
    const registered = this.byType.get(type);
    if (errors.length === 0 && registered) errors.push(...registered.validate(body, tenantId));
    if (errors.length > 0) throw validationFailed(errors.map((e) => ({ ...e, field: `target.${e.field}` })));
    return target as TargetSpec;
  }
}
