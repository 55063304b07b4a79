/* Calendar dates as day numbers (days since 1970-01-01, proleptic Gregorian),
 * which compare and subtract as integers. */
#ifndef A51_DATES_H
#define A51_DATES_H

#include <stdbool.h>
#include <stdint.h>

/* Whole-string "YYYY-MM-DD", years 1800..2200; 0 or -1. */
int date_parse(const char *s, int32_t *out);
/* Writes "YYYY-MM-DD" (11 bytes with the NUL). */
void date_format(int32_t day, char out[11]);
int32_t date_from_ymd(int y, int m, int d);
void date_to_ymd(int32_t day, int *y, int *m, int *d);
bool date_valid_ymd(int y, int m, int d);
/* Today in UTC. */
int32_t date_today(void);
/* Age in completed years on `day` of someone born in year/month (day unknown:
 * the birthday counts as reached on the first of the month). month 0 = unknown
 * month, counted as January. */
int date_age_at(int birth_year, int birth_month, int32_t day);

#endif
