/** What happens to fire times missed while workers were down or the schedule paused (planned by `planFire`). */
export type CatchUpPolicy = 'none' | 'latest' | 'all';
