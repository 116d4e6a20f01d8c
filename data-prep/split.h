/* Carving validation (and, where the source has none, test) out of training, by patient. */
#ifndef PTRAIN_SPLIT_H
#define PTRAIN_SPLIT_H

#include <stdint.h>

#include "filelist.h"
#include "ptrain/common.h"

/* Moves about `fraction` of the training images to split `to`, whole patients at a time, so that
 * no patient has images on both sides. Stratified: each class (a patient's class is the label of
 * its first image; for multi-label sources, "no finding" vs "any finding") gives up the same
 * fraction. Which patients move depends only on the seed and the patient ids, never on the order
 * of the list or the number of ranks. Returns the number of images moved in *moved. */
int pt_split_carve(pt_filelist *list, pt_split to, double fraction, uint64_t seed, size_t *moved,
                   pt_error *err);

/* Counts patients that appear in more than one split (0 after carving; a source's own splits
 * may overlap, which prep reports). */
size_t pt_split_count_shared_patients(const pt_filelist *list);

#endif
