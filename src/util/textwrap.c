/* textwrap.c - see textwrap.h. */
#include "util/textwrap.h"

#include <stdarg.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <unistd.h>

int nrps_term_width(FILE *f) {
    const char *env = getenv("COLUMNS"); /* the usual override (ls, man): a number of columns */
    if (env && *env) {
        char *end;
        long c = strtol(env, &end, 10);
        if (!*end && c > 0) return c < 40 ? 40 : c > 100000 ? 100000 : (int)c;
    }
    int fd = f ? fileno(f) : -1;
    struct winsize ws;
    if (fd >= 0 && isatty(fd) && ioctl(fd, TIOCGWINSZ, &ws) == 0 && ws.ws_col > 0)
        return ws.ws_col < 40 ? 40 : ws.ws_col;
    return NRPS_DEFAULT_WIDTH;
}

void nrps_wrap(FILE *f, int width, int indent, const char *text) {
    if (width <= 0) width = nrps_term_width(f);
    if (indent < 0) indent = 0;
    if (indent > width / 2) indent = width / 2;
    const char *p = text;
    int first = 1;
    for (;;) {
        size_t linelen = strcspn(p, "\n");
        const char *end = p + linelen;
        /* one source line: emit pieces of at most avail characters */
        int cont = 0;
        do {
            int pad = first ? 0 : indent;
            if (cont) /* no leading spaces on a continuation */
                while (p < end && *p == ' ') p++;
            size_t avail = (size_t)(width - pad), left = (size_t)(end - p);
            size_t take = left;
            if (left > avail) {
                take = avail;
                size_t k = avail;
                while (k > 0 && p[k] != ' ') k--; /* p[avail] == ' ' breaks right there */
                if (k > (size_t)0 && k > avail / 4) take = k;
                while (take > 0 && p[take - 1] == ' ') take--; /* no trailing spaces */
                if (!take) take = avail;
            }
            fprintf(f, "%*s%.*s\n", take ? pad : 0, "", (int)take, p);
            p += take;
            first = 0;
            cont = 1;
            while (p < end && *p == ' ') p++;
        } while (p < end);
        if (!*end) break;
        p = end + 1;
        if (!*p) break;
    }
}

void nrps_wrapf(FILE *f, int width, int indent, const char *fmt, ...) {
    char stackbuf[1024];
    va_list ap;
    va_start(ap, fmt);
    int n = vsnprintf(stackbuf, sizeof stackbuf, fmt, ap);
    va_end(ap);
    if (n < 0) return;
    if ((size_t)n < sizeof stackbuf) {
        nrps_wrap(f, width, indent, stackbuf);
        return;
    }
    char *buf = malloc((size_t)n + 1);
    if (!buf) { /* out of memory: the text unwrapped rather than lost */
        va_start(ap, fmt);
        vfprintf(f, fmt, ap);
        va_end(ap);
        fputc('\n', f);
        return;
    }
    va_start(ap, fmt);
    vsnprintf(buf, (size_t)n + 1, fmt, ap);
    va_end(ap);
    nrps_wrap(f, width, indent, buf);
    free(buf);
}
