/* Time in milliseconds: wall clock (for what users see) and monotonic (for intervals). */
#ifndef SK_CLOCK_H
#define SK_CLOCK_H

long long clock_wall_ms(void);
long long clock_mono_ms(void);
/* Monotonic microseconds, for timing requests. */
long long clock_mono_us(void);
/* Sleeps ms milliseconds (again after a signal). */
void clock_sleep_ms(long long ms);

#endif
