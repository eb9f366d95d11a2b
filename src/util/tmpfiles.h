/* tmpfiles.h - internal to src/util: the temp files being written right now (outfile.c registers them), so that a
 * signal that ends the process (signals.c) removes them. */
#ifndef NRPS_TMPFILES_H
#define NRPS_TMPFILES_H

/* Registers an existing temp file's path; returns its slot, or -1 when it could not be registered (path too long,
 * every slot busy: the file is then simply not removed by a signal). */
int nrps_tmp_register(const char *path);
/* Forgets a slot (after the rename or removal); accepts -1. */
void nrps_tmp_unregister(int slot);
/* Unlinks every registered temp file; async-signal-safe. */
void nrps_tmp_unlink_all(void);

#endif
