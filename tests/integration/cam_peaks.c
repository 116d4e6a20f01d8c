/* cam_peaks MODEL COUNT SEED: draws COUNT synthetic films with one bacterial opacity each
 * (ptrain-synth's generator, 256x256), runs the model on each as `ptrain predict` would (resize
 * to the model's size), and finds the peak of the pneumonia class's heat map over the film.
 * Prints "films N hits H": H films whose peak lies in the half of the image (the lung) where the
 * generator put the opacity. integration/serve.sh asserts on H over the set. */
#include <stdio.h>
#include <stdlib.h>

#include "ptrain/cam.h"
#include "ptrain/infer.h"
#include "ptrain/model_io.h"
#include "ptrain/resize.h"
#include "synth.h"

#define FILM 256

int main(int argc, char **argv)
{
    if (argc != 4) {
        fprintf(stderr, "usage: cam_peaks MODEL COUNT SEED\n");
        return 2;
    }
    int count = atoi(argv[2]);
    uint64_t seed = strtoull(argv[3], NULL, 10);
    pt_arch arch;
    pt_net *net;
    pt_model_meta meta;
    pt_error err;
    if (pt_model_load(argv[1], &arch, &net, &meta, 1, &err) != PT_OK) {
        fprintf(stderr, "cam_peaks: %s\n", err.msg);
        return 1;
    }
    int mh, mw;
    if (pt_net_cam_shape(net, &mh, &mw, &err) != PT_OK) {
        fprintf(stderr, "cam_peaks: %s\n", err.msg);
        return 1;
    }
    pt_image film;
    uint8_t *input = malloc((size_t)meta.width * meta.height);
    float *map = malloc((size_t)mh * mw * sizeof *map);
    float *heat = malloc((size_t)FILM * FILM * sizeof *heat);
    if (!input || !map || !heat || pt_image_alloc(&film, FILM, FILM, &err) != PT_OK) {
        fprintf(stderr, "cam_peaks: out of memory\n");
        return 1;
    }
    pt_infer_params params = pt_model_infer_params(&meta);
    pt_cam_geometry geo = {meta.width, meta.height, PT_FIT_STRETCH};
    int hits = 0;
    for (int i = 0; i < count; i++) {
        float probs[PT_MODEL_MAX_CLASSES];
        /* patients and indices far from the training set's (which starts at 0) */
        uint64_t patient = 100000 + (uint64_t)i, index = 100000 + (uint64_t)i;
        if (pt_synth_draw(seed, patient, index, PT_SYNTH_BACTERIA, FILM, FILM, film.pixels, &err) !=
                PT_OK ||
            pt_image_resize(&film, meta.width, meta.height, PT_FIT_STRETCH, input, &err) != PT_OK ||
            pt_infer_probs(net, &params, input, 1, probs, &err) != PT_OK ||
            pt_net_cam(net, 0, meta.n_classes - 1, map, &err) != PT_OK ||
            pt_cam_heat(map, mh, mw, &geo, &film, heat, &err) != PT_OK) {
            fprintf(stderr, "cam_peaks: film %d: %s\n", i, err.msg);
            return 1;
        }
        int best = 0;
        for (int p = 1; p < FILM * FILM; p++)
            if (heat[p] > heat[best])
                best = p;
        int side = best % FILM < FILM / 2 ? 0 : 1;
        hits += side == pt_synth_opacity_side(seed, patient, index, PT_SYNTH_BACTERIA);
    }
    printf("films %d hits %d\n", count, hits);
    pt_image_free(&film);
    free(input);
    free(map);
    free(heat);
    pt_net_free(net);
    pt_arch_free(&arch);
    return 0;
}
