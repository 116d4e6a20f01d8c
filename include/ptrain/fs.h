/* Files and folders: whole-file reads, mkdir -p, and the one atomic commit that every final file
 * ptrain writes goes through (caches, model.h5, checkpoints, summary.json, config.json, CSVs,
 * plots), so that a crash or a full disk never leaves a half-written file under a final name. */
#ifndef PTRAIN_FS_H
#define PTRAIN_FS_H

#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

#include "ptrain/common.h"

/* Longest path ptrain builds (run-directory file names, temporary names). */
#define PT_PATH_MAX 4096

/* Opens path read-only if it is a regular file, without blocking on a FIFO (which is refused, as
 * are folders and devices); its size in *size (may be NULL). The caller closes *fd. */
int pt_fs_open_regular(const char *path, int *fd, int64_t *size, pt_error *err);

/* 1 if path names a directory (after following links), 0 otherwise (missing, another type). */
int pt_fs_is_dir(const char *path);

/* 1 if path names a regular file (after following links), 0 otherwise. */
int pt_fs_is_file(const char *path);

/* Reads a whole regular file into a malloc'd buffer (through pt_fs_open_regular). */
int pt_fs_read_file(const char *path, uint8_t **data, size_t *size, pt_error *err);

/* Creates path and its missing parents (mkdir -p); fails if path exists and is not a folder. */
int pt_fs_mkdir_p(const char *path, pt_error *err);

/* Makes a complete temporary file durable under its final name: fsync tmp_path, rename it to
 * path, fsync the folder. After a crash path is either the old file or the whole new one. */
int pt_fs_commit(const char *tmp_path, const char *path, pt_error *err);

/* Opens "<path>.tmp" for writing (its name left in tmp, PT_PATH_MAX bytes); pair with
 * pt_fs_close_commit. */
FILE *pt_fs_open_temp(const char *path, char *tmp, pt_error *err);

/* Closes f (checking every buffered write) and commits tmp to path; on failure tmp is removed
 * and the message names path and the reason of the first failed write ("No space left on
 * device"). */
int pt_fs_close_commit(FILE *f, const char *tmp, const char *path, pt_error *err);

/* Writes size bytes to path atomically: a temporary, pt_fs_close_commit. */
int pt_fs_write_file(const char *path, const void *data, size_t size, pt_error *err);

#endif
