/* Bare decode rate: reads and decodes every image below a folder, nothing else (no resize, no
 * write), the yardstick ptrain-prep's throughput is compared against.
 *   decode_bench DIR [--scaled N]   (--scaled: allow JPEG DCT downscaling to >= N x N) */
#define _DEFAULT_SOURCE
#include <dirent.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "ptrain/image.h"

typedef struct stats {
    long images;
    long failed;
    double pixels;
    double seconds;
} stats;

static void walk(const char *dir, const pt_decode_opts *opts, stats *st)
{
    DIR *d = opendir(dir);
    if (!d)
        return;
    struct dirent *de;
    while ((de = readdir(d)) != NULL) {
        if (de->d_name[0] == '.')
            continue;
        char path[4096];
        snprintf(path, sizeof path, "%s/%s", dir, de->d_name);
        struct stat sb;
        if (stat(path, &sb) != 0)
            continue;
        if (S_ISDIR(sb.st_mode)) {
            walk(path, opts, st);
            continue;
        }
        pt_image img;
        pt_error err;
        double t0 = pt_now_seconds();
        int rc = pt_image_decode_file(path, opts, &img, &err);
        st->seconds += pt_now_seconds() - t0;
        if (rc == PT_OK) {
            st->images++;
            st->pixels += (double)img.width * img.height;
            pt_image_free(&img);
        } else {
            st->failed++;
        }
    }
    closedir(d);
}

int main(int argc, char **argv)
{
    if (argc != 2 && !(argc == 4 && strcmp(argv[2], "--scaled") == 0)) {
        fprintf(stderr, "usage: decode_bench DIR [--scaled N]\n");
        return 2;
    }
    pt_decode_opts opts = pt_decode_opts_default();
    if (argc == 4)
        opts.min_width = opts.min_height = atoi(argv[3]);
    stats st = {0};
    walk(argv[1], &opts, &st);
    printf("decoded %ld images (%ld failed) in %.3f s: %.1f images/s, %.1f Mpixel/s\n", st.images,
           st.failed, st.seconds, st.seconds > 0 ? st.images / st.seconds : 0.0,
           st.seconds > 0 ? st.pixels / st.seconds / 1e6 : 0.0);
    return st.images > 0 ? 0 : 1;
}
