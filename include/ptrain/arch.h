/* Network architectures: the built-in presets and a small INI-like text format for custom ones.
 *
 *   # comment
 *   [conv]             filters=16 size=3 stride=1 pad=1 bias=1
 *   [batchnorm]
 *   [relu]
 *   [maxpool]          size=2 stride=2
 *   [avgpool]          (global average pool)
 *   [dense]            outputs=128   (outputs=classes: as many as the cache has classes)
 *   [dropout]          p=0.5
 *   [residual]         from=-3       (adds the output of the layer 3 above to the previous one)
 *
 * One key=value per line below its [section]. Every layer reads the output of the layer above it
 * unless it says input=-N (the layer N above; -1 is the one directly above). Keys a layer does not
 * use are reported as warnings, so a typo never passes silently. The input shape comes from the
 * cache; the presets state the shape they were designed for. */
#ifndef PTRAIN_ARCH_H
#define PTRAIN_ARCH_H

#include <stddef.h>

#include "ptrain/common.h"

typedef enum pt_layer_type {
    PT_LAYER_CONV,
    PT_LAYER_BATCHNORM,
    PT_LAYER_RELU,
    PT_LAYER_MAXPOOL,
    PT_LAYER_AVGPOOL,
    PT_LAYER_DENSE,
    PT_LAYER_DROPOUT,
    PT_LAYER_RESIDUAL,
    PT_LAYER_TYPE_COUNT
} pt_layer_type;

/* The section name of a layer type ("conv"); NULL when out of range. */
const char *pt_layer_type_name(pt_layer_type type);

#define PT_ARCH_CLASSES (-1) /* outputs=classes */

typedef struct pt_layer_spec {
    pt_layer_type type;
    int input;   /* relative index of the layer whose output this one reads: -1 = the previous */
    int from;    /* residual: relative index of the second operand */
    int filters; /* conv */
    int size;    /* conv, maxpool: kernel size */
    int stride;  /* conv, maxpool */
    int pad;     /* conv, maxpool */
    int bias;    /* conv, dense: 1 = with bias */
    int outputs; /* dense; PT_ARCH_CLASSES = number of classes */
    float p;     /* dropout probability */
    int line;    /* line of the section header in the text, for messages */
} pt_layer_spec;

#define PT_ARCH_MAX_WARNINGS 32

typedef struct pt_arch {
    char name[64];
    int design_height; /* the input size the preset was designed for, 0 if any */
    int design_width;
    pt_layer_spec *layers;
    int n_layers;
    int n_warnings;
    char warnings[PT_ARCH_MAX_WARNINGS][160];
    char *text; /* the text it was parsed from: saved in model files and checkpoints */
} pt_arch;

/* Parses architecture text. `name` names it in messages (a file name or a preset name). */
int pt_arch_parse(const char *text, const char *name, pt_arch *arch, pt_error *err);

/* A preset ("fmnist", "cxr", "resnet18"), with the input size it was designed for; an unknown
 * name is PT_ERR_INVALID. (pt_arch_load in arch_file.h also takes a file.) */
int pt_arch_preset(const char *preset, pt_arch *arch, pt_error *err);

/* The text of a preset, or NULL. Allocated: free() it. */
char *pt_arch_preset_text(const char *preset);

void pt_arch_free(pt_arch *arch);

#endif
