#include "config.h"
#include "gb_time.h"

#include <stdio.h>
#include <string.h>
#include <time.h>

int64_t
gb_mono_us(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (int64_t)ts.tv_sec * 1000000 + ts.tv_nsec / 1000;
}

char *
gb_rfc3339_now(char *buf, size_t size)
{
	/* The calendar part changes once a second: keep it per thread. */
	static _Thread_local time_t last_sec = -1;
	static _Thread_local char date[64];
	static _Thread_local int date_len;
	struct timespec ts;
	struct tm tm;

	clock_gettime(CLOCK_REALTIME, &ts);
	if (ts.tv_sec != last_sec) {
		gmtime_r(&ts.tv_sec, &tm);
		date_len = snprintf(date, sizeof(date), "%04d-%02d-%02dT%02d:%02d:%02d",
		                    tm.tm_year + 1900, tm.tm_mon + 1, tm.tm_mday,
		                    tm.tm_hour, tm.tm_min, tm.tm_sec);
		last_sec = ts.tv_sec;
	}
	/* "YYYY-MM-DDTHH:MM:SS" + ".mmmZ" by hand: this runs per log line. */
	if (date_len == 19 && size >= GB_RFC3339_LEN) {
		long ms = ts.tv_nsec / 1000000;

		memcpy(buf, date, 19);
		buf[19] = '.';
		buf[20] = (char)('0' + ms / 100);
		buf[21] = (char)('0' + ms / 10 % 10);
		buf[22] = (char)('0' + ms % 10);
		buf[23] = 'Z';
		buf[24] = '\0';
	} else {
		snprintf(buf, size, "%s.%03ldZ", date, ts.tv_nsec / 1000000);
	}
	return buf;
}
