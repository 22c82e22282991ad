/* The dashboard's chart: requests and sales per second over the last ten minutes, as a PNG. */
#ifndef SK_CHART_H
#define SK_CHART_H

/* The chart as an RGB PNG of 720x240 and its length, or NULL (logged). Free with chart_free. */
void *chart_png(int *len);
/* Frees what chart_png returned; NULL is fine. */
void chart_free(void *png);

#endif
