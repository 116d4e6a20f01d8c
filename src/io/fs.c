/* Files and folders (see fs.h). */
#include "ptrain/fs.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

int pt_fs_open_regular(const char *path, int *fd_out, int64_t *size, pt_error *err)
{
    *fd_out = -1;
    /* O_NONBLOCK: opening a FIFO must not wait for a writer; regular files ignore it. */
    int fd = open(path, O_RDONLY | O_CLOEXEC | O_NONBLOCK);
    if (fd < 0)
        return pt_error_set(err, PT_ERR_IO, "%s: %s", path, strerror(errno));
    struct stat st;
    if (fstat(fd, &st) != 0 || !S_ISREG(st.st_mode)) {
        close(fd);
        return pt_error_set(err, PT_ERR_IO, "%s: not a regular file", path);
    }
    /* Back to blocking reads (a file on NFS may need them), now that it is known to be a file. */
    int flags = fcntl(fd, F_GETFL);
    if (flags < 0 || fcntl(fd, F_SETFL, flags & ~O_NONBLOCK) != 0) {
        int e = errno;
        close(fd);
        return pt_error_set(err, PT_ERR_IO, "%s: %s", path, strerror(e));
    }
    *fd_out = fd;
    if (size)
        *size = (int64_t)st.st_size;
    return PT_OK;
}

int pt_fs_read_file(const char *path, uint8_t **data, size_t *size, pt_error *err)
{
    *data = NULL;
    *size = 0;
    int fd;
    int64_t len;
    int status = pt_fs_open_regular(path, &fd, &len, err);
    if (status != PT_OK)
        return status;
    FILE *f = fdopen(fd, "rb");
    if (!f) {
        int e = errno;
        close(fd);
        return pt_error_set(err, PT_ERR_IO, "%s: %s", path, strerror(e));
    }
    uint8_t *buf = malloc(len > 0 ? (size_t)len : 1);
    if (!buf) {
        status = pt_error_set(err, PT_ERR_NOMEM, "%s: out of memory reading %lld bytes", path,
                              (long long)len);
        goto done;
    }
    if (len > 0 && fread(buf, 1, (size_t)len, f) != (size_t)len) {
        status = pt_error_set(err, PT_ERR_IO, "%s: read error", path);
        goto done;
    }
    *data = buf;
    *size = (size_t)len;
    buf = NULL;
done:
    free(buf);
    fclose(f);
    return status;
}

int pt_fs_mkdir_p(const char *path, pt_error *err)
{
    char buf[PT_PATH_MAX];
    if (pt_strlcpy(buf, path, sizeof buf) != 0)
        return pt_error_set(err, PT_ERR_INVALID, "%s: path too long", path);
    size_t len = strlen(buf);
    while (len > 1 && buf[len - 1] == '/')
        buf[--len] = '\0';
    for (size_t i = 1; i <= len; i++) {
        if (buf[i] != '/' && buf[i] != '\0')
            continue;
        char saved = buf[i];
        buf[i] = '\0';
        if (mkdir(buf, 0777) != 0) {
            int e = errno;
            struct stat st;
            if (e != EEXIST)
                return pt_error_set(err, PT_ERR_IO, "%s: cannot create directory: %s", buf,
                                    strerror(e));
            if (stat(buf, &st) != 0 || !S_ISDIR(st.st_mode))
                return pt_error_set(err, PT_ERR_IO, "%s: exists and is not a directory", buf);
        }
        buf[i] = saved;
    }
    return PT_OK;
}

/* fsyncs the folder holding path, so that a rename into it survives a crash. */
static int sync_parent_dir(const char *path, pt_error *err)
{
    char dir[PT_PATH_MAX];
    if (pt_strlcpy(dir, path, sizeof dir) != 0)
        return pt_error_set(err, PT_ERR_INVALID, "%s: path too long", path);
    char *slash = strrchr(dir, '/');
    if (!slash)
        strcpy(dir, ".");
    else if (slash == dir)
        dir[1] = '\0';
    else
        *slash = '\0';
    int fd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    if (fd < 0)
        return pt_error_set(err, PT_ERR_IO, "%s: cannot open directory to sync it: %s", dir,
                            strerror(errno));
    int status = PT_OK;
    /* Some file systems cannot fsync a directory (EINVAL, ENOTSUP); their rename is still atomic
     * and nothing more can be done there, so that is not an error. */
    if (fsync(fd) != 0 && errno != EINVAL && errno != ENOTSUP)
        status =
            pt_error_set(err, PT_ERR_IO, "%s: cannot sync directory: %s", dir, strerror(errno));
    if (close(fd) != 0 && status == PT_OK)
        status = pt_error_set(err, PT_ERR_IO, "%s: close: %s", dir, strerror(errno));
    return status;
}

int pt_fs_commit(const char *tmp_path, const char *path, pt_error *err)
{
    /* The writer has closed the file; fsync makes its bytes durable BEFORE the rename makes the
     * name visible, or a crash could leave a complete-looking name over empty blocks. */
    int fd = open(tmp_path, O_RDONLY | O_CLOEXEC);
    if (fd < 0)
        return pt_error_set(err, PT_ERR_IO, "%s: cannot open to sync it: %s", tmp_path,
                            strerror(errno));
    if (fsync(fd) != 0) {
        int e = errno;
        close(fd);
        return pt_error_set(err, PT_ERR_IO, "%s: cannot sync: %s", tmp_path, strerror(e));
    }
    if (close(fd) != 0)
        return pt_error_set(err, PT_ERR_IO, "%s: close: %s", tmp_path, strerror(errno));
    if (rename(tmp_path, path) != 0)
        return pt_error_set(err, PT_ERR_IO, "%s: cannot rename to %s: %s", tmp_path, path,
                            strerror(errno));
    return sync_parent_dir(path, err);
}

/* A temporary file's stream writes straight to its descriptor and keeps the first write error:
 * stdio forgets why a buffered write failed (fclose then returns 0 with errno unset), and "No
 * space left on device" is the one thing the user must be told. The close function hands the
 * error back through fclose's errno. */
typedef struct temp_stream {
    int fd;
    int error; /* errno of the first failed write, or 0 */
} temp_stream;

static ssize_t temp_write(void *cookie, const char *buf, size_t size)
{
    temp_stream *s = cookie;
    size_t done = 0;
    while (done < size && !s->error) {
        ssize_t n = write(s->fd, buf + done, size - done);
        if (n < 0 && errno == EINTR)
            continue;
        if (n < 0)
            s->error = errno;
        else
            done += (size_t)n;
    }
    return (ssize_t)done; /* short: stdio marks the stream as failed */
}

static int temp_close(void *cookie)
{
    temp_stream *s = cookie;
    int e = s->error;
    if (close(s->fd) != 0 && !e)
        e = errno;
    free(s);
    if (e) {
        errno = e;
        return -1;
    }
    return 0;
}

FILE *pt_fs_open_temp(const char *path, char *tmp, pt_error *err)
{
    int n = snprintf(tmp, PT_PATH_MAX, "%s.tmp", path);
    if (n < 0 || n >= PT_PATH_MAX) {
        pt_error_set(err, PT_ERR_INVALID, "%s: path too long", path);
        return NULL;
    }
    temp_stream *s = malloc(sizeof *s);
    if (!s) {
        pt_error_set(err, PT_ERR_NOMEM, "%s: out of memory", path);
        return NULL;
    }
    s->error = 0;
    s->fd = open(tmp, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0666);
    if (s->fd < 0) {
        pt_error_set(err, PT_ERR_IO, "%s: %s", tmp, strerror(errno));
        free(s);
        return NULL;
    }
    cookie_io_functions_t io = {.write = temp_write, .close = temp_close};
    FILE *f = fopencookie(s, "w", io);
    if (!f) {
        pt_error_set(err, PT_ERR_NOMEM, "%s: out of memory", path);
        close(s->fd);
        remove(tmp);
        free(s);
    }
    return f;
}

int pt_fs_close_commit(FILE *f, const char *tmp, const char *path, pt_error *err)
{
    int failed = ferror(f);
    errno = 0;
    if (fclose(f) != 0 || failed) {
        int e = errno ? errno : EIO;
        remove(tmp);
        return pt_error_set(err, PT_ERR_IO, "%s: cannot write: %s", path, strerror(e));
    }
    int status = pt_fs_commit(tmp, path, err);
    if (status != PT_OK)
        remove(tmp);
    return status;
}

int pt_fs_write_file(const char *path, const void *data, size_t size, pt_error *err)
{
    char tmp[PT_PATH_MAX];
    FILE *f = pt_fs_open_temp(path, tmp, err);
    if (!f)
        return err ? err->code : PT_ERR_IO;
    fwrite(data, 1, size, f); /* a failure is reported by the close, with its reason */
    return pt_fs_close_commit(f, tmp, path, err);
}

int pt_fs_is_dir(const char *path)
{
    struct stat st;
    return stat(path, &st) == 0 && S_ISDIR(st.st_mode);
}

int pt_fs_is_file(const char *path)
{
    struct stat st;
    return stat(path, &st) == 0 && S_ISREG(st.st_mode);
}
