/* An RGB raster to draw plots on: rectangles, anti-aliased lines and discs, bitmap text,
 * gray and RGB images, written out as PNG.
 *
 * Coordinates are pixels, x to the right, y down, (0, 0) the top-left corner of the top-left
 * pixel; lines and discs take fractional coordinates, pixel centres are at +0.5. Every drawing
 * function clips to the canvas: any coordinates are safe, whatever lies outside is dropped. */
#ifndef PTRAIN_CANVAS_H
#define PTRAIN_CANVAS_H

#include <stdint.h>

#include "ptrain/common.h"

/* Largest canvas pt_canvas_init accepts (pixels), far above any plot. */
#define PT_CANVAS_MAX_PIXELS (64LL * 1024 * 1024)

typedef struct pt_rgb {
    uint8_t r, g, b;
} pt_rgb;

/* A fixed-width bitmap font for printable ASCII; other bytes draw as '?'. */
typedef struct pt_font {
    int advance;         /* pixels from one character to the next */
    int height;          /* rows per glyph (line height) */
    int ascent;          /* rows above the baseline */
    const uint8_t *bits; /* 95 glyphs (32..126) x height rows, bit 7 = leftmost column */
} pt_font;

/* X11 misc-fixed 6x13 (tick labels, legends, captions) and 9x15 (titles), public domain. */
extern const pt_font pt_font_6x13;
extern const pt_font pt_font_9x15;

typedef struct pt_canvas {
    int width;
    int height;
    uint8_t *rgb;   /* width * height * 3, row-major, top row first; owned */
    uint8_t *cover; /* width * height coverage scratch for lines, all zero between calls; owned */
    /* Drawing only touches pixels inside this half-open box (the whole canvas unless narrowed by
     * pt_canvas_clip); the canvas bounds always apply. */
    int clip_x0, clip_y0, clip_x1, clip_y1;
} pt_canvas;

typedef enum pt_align { PT_ALIGN_LEFT, PT_ALIGN_CENTER, PT_ALIGN_RIGHT } pt_align;

/* Allocates a width x height canvas filled with background. */
int pt_canvas_init(pt_canvas *c, int width, int height, pt_rgb background, pt_error *err);

/* Frees the pixels and zeroes the struct; safe on a zeroed or already freed canvas. */
void pt_canvas_free(pt_canvas *c);

/* Restricts drawing to the w x h rectangle at (x, y) (intersected with the canvas). */
void pt_canvas_clip(pt_canvas *c, int x, int y, int w, int h);

/* Lets drawing reach the whole canvas again. */
void pt_canvas_unclip(pt_canvas *c);

/* Writes the canvas as an 8-bit RGB PNG; messages name path. */
int pt_canvas_write_png(const pt_canvas *c, const char *path, pt_error *err);

/* Mixes color into one pixel with opacity alpha (0..255); outside the clip box it does nothing. */
void pt_canvas_blend(pt_canvas *c, int x, int y, pt_rgb color, int alpha);

/* Fills the w x h rectangle whose top-left pixel is (x, y). */
void pt_canvas_fill_rect(pt_canvas *c, int x, int y, int w, int h, pt_rgb color);

/* The outline of that rectangle, thickness pixels wide, drawn inside it. */
void pt_canvas_rect_outline(pt_canvas *c, int x, int y, int w, int h, int thickness, pt_rgb color);

/* An anti-aliased polyline width pixels wide with round joins and caps through n points.
 * A vertex with a non-finite coordinate breaks the line (a gap); a vertex with no finite
 * neighbour is drawn as a dot. dash > 0 draws dashes of that length separated by gap. */
void pt_canvas_polyline(pt_canvas *c, const double *xs, const double *ys, int n, double width,
                        double dash, double gap, pt_rgb color);

/* One anti-aliased segment (a polyline of two points). */
void pt_canvas_line(pt_canvas *c, double x0, double y0, double x1, double y1, double width,
                    pt_rgb color);

/* An anti-aliased filled disc. */
void pt_canvas_disc(pt_canvas *c, double cx, double cy, double radius, pt_rgb color);

/* Width in pixels of s in font f at integer scale (>= 1). */
int pt_text_width(const pt_font *f, int scale, const char *s);

/* One line of text, top of the line at y, horizontally anchored at x by align (the left end, the
 * centre or the right end of the text). Text wider than max_width pixels (max_width > 0) is cut
 * and ends in "..." when there is room for it. Returns the width drawn. */
int pt_canvas_text(pt_canvas *c, const pt_font *f, int scale, int x, int y, pt_align align,
                   int max_width, const char *s, pt_rgb color);

/* The same, rotated a quarter turn counter-clockwise (read bottom to top, as a y-axis label):
 * the column's left edge at x (the tops of the glyphs face left), anchored along y: PT_ALIGN_LEFT
 * starts at y and runs up, PT_ALIGN_RIGHT ends at y, PT_ALIGN_CENTER is centred on y. */
int pt_canvas_text_up(pt_canvas *c, const pt_font *f, int scale, int x, int y, pt_align align,
                      int max_height, const char *s, pt_rgb color);

/* Draws the sw x sh gray image src scaled to dw x dh at (x, y): area average when shrinking,
 * pixel replication for a whole-number zoom, bilinear for any other enlargement. */
void pt_canvas_blit_gray(pt_canvas *c, int x, int y, int dw, int dh, const uint8_t *src, int sw,
                         int sh);

/* The same for an RGB image (sw x sh x 3 bytes, row-major, R G B per pixel). */
void pt_canvas_blit_rgb(pt_canvas *c, int x, int y, int dw, int dh, const uint8_t *src, int sw,
                        int sh);

#endif
