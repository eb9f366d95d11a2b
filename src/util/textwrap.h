/* textwrap.h - terminal-width text for people: the width of the terminal stdout is on (TIOCGWINSZ; 100 when it is
 * not a terminal; $COLUMNS overrides) and printf-like output wrapped at spaces to that width. */
#ifndef NRPS_TEXTWRAP_H
#define NRPS_TEXTWRAP_H

#include <stdio.h>

enum { NRPS_DEFAULT_WIDTH = 100 };

/* $COLUMNS when it is set to a number (the usual override); else the columns of the terminal f is on;
 * NRPS_DEFAULT_WIDTH when f is not a terminal (a file, a pipe) or the size is unknown. Never below 40. */
int nrps_term_width(FILE *f);

/* Formats like fprintf and writes the text to f wrapped at spaces so that no line is wider than width (<= 0:
 * nrps_term_width(f)); continuation lines start with indent spaces. An embedded '\n' ends a line (the next one
 * keeps the indent); a word longer than a line is cut. A trailing newline is always written. */
void nrps_wrapf(FILE *f, int width, int indent, const char *fmt, ...) __attribute__((format(printf, 4, 5)));
/* The same on a finished string. */
void nrps_wrap(FILE *f, int width, int indent, const char *text);

#endif
