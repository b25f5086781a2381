/**
 * Random operation sequences for the discrete-event engine's queue
 * (EventQueue): pushes at whole-ms times (many ties: chains of several
 * events), fractional times, times past 2^31 ms, pushes again at an earlier
 * push's time (a chain that may still be queued, or one that is done),
 * cancels of live, fired and cancelled handles, and pops up to a limit.
 * Times are relative to the time of the last pop, as the engine schedules.
 */
import fc from 'fast-check';

export interface PushOp { kind: 'push'; delay: number }
/** Push again at the time of push number `pick` (mod pushes so far): a tie with a chain that may still be queued. */
export interface PushAgainOp { kind: 'again'; pick: number }
/** Cancel the handle of push number `pick` (mod pushes so far). */
export interface CancelOp { kind: 'cancel'; pick: number }
/** popUntil(last popped time + `ahead`), `count` times. */
export interface PopOp { kind: 'pop'; ahead: number; count: number }
export type EventQueueOp = PushOp | PushAgainOp | CancelOp | PopOp;

const delay = fc.oneof(
  // Ties: the same few milliseconds over and over, and "now" itself.
  { weight: 4, arbitrary: fc.integer({ min: 0, max: 5 }) },
  { weight: 3, arbitrary: fc.integer({ min: 0, max: 5_000 }) },
  // Fractions (ties among them too: quarters of a millisecond).
  { weight: 2, arbitrary: fc.integer({ min: 0, max: 40 }).map((q) => q / 4) },
  // Whole milliseconds past int32 (times are doubles; nothing may assume int32).
  { weight: 1, arbitrary: fc.integer({ min: 0, max: 3 }).map((k) => 2 ** 31 + k) },
  // Before the last pop (the queue allows it, the engine never does it).
  { weight: 1, arbitrary: fc.integer({ min: -3, max: -1 }) },
);

export const eventQueueOp: fc.Arbitrary<EventQueueOp> = fc.oneof(
  { weight: 6, arbitrary: delay.map((d): PushOp => ({ kind: 'push', delay: d })) },
  { weight: 2, arbitrary: fc.nat().map((pick): PushAgainOp => ({ kind: 'again', pick })) },
  { weight: 1, arbitrary: fc.nat().map((pick): CancelOp => ({ kind: 'cancel', pick })) },
  {
    weight: 3,
    arbitrary: fc
      .record({ ahead: fc.oneof(fc.integer({ min: 0, max: 10 }), fc.constant(Infinity)), count: fc.integer({ min: 1, max: 8 }) })
      .map(({ ahead, count }): PopOp => ({ kind: 'pop', ahead, count })),
  },
);

export const eventQueueOps = fc.array(eventQueueOp, { minLength: 1, maxLength: 300, size: 'max' });
