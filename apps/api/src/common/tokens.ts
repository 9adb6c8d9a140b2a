/** Injection token of the process Runtime (libs/runtime). */
export const RUNTIME = Symbol('RUNTIME');
