/* Heat maps from class activation maps (pt_net_cam in net.h), drawn over the film a person looks
 * at: the low-resolution map is carried from the model's input back onto the film (through the
 * same --fit geometry that made the input), bilinearly upsampled, its positive part kept and
 * normalised to [0, 1] by its maximum, coloured (blue-cyan-yellow-red) and alpha-blended over
 * the gray film in proportion to the heat, so a cold region shows the film untouched. */
#ifndef PTRAIN_CAM_H
#define PTRAIN_CAM_H

#include <stddef.h>
#include <stdint.h>

#include "ptrain/common.h"
#include "ptrain/image.h"
#include "ptrain/resize.h"

/* Where the model's input came from: its size and the --fit that made it from the film. */
typedef struct pt_cam_geometry {
    int input_width;
    int input_height;
    pt_fit fit;
} pt_cam_geometry;

/* The heat at every film pixel, film->width x film->height floats in [0, 1] written to heat:
 * map (map_h x map_w, over the model's input) upsampled bilinearly, positive part, divided by
 * its maximum (all zero when no value is positive). Film pixels the model never saw (cut off by
 * --fit crop) get 0. */
int pt_cam_heat(const float *map, int map_h, int map_w, const pt_cam_geometry *geo,
                const pt_image *film, float *heat, pt_error *err);

/* The overlay, RGB (film->width x film->height x 3 bytes) written to rgb. */
int pt_cam_overlay(const float *map, int map_h, int map_w, const pt_cam_geometry *geo,
                   const pt_image *film, uint8_t *rgb, pt_error *err);

/* The overlay as a PNG in memory (*png malloc'ed: the caller frees it). */
int pt_cam_overlay_png(const float *map, int map_h, int map_w, const pt_cam_geometry *geo,
                       const pt_image *film, uint8_t **png, size_t *png_size, pt_error *err);

#endif
