/* Architectures from the command line: a preset name or a file in the text format (arch.h). */
#ifndef PTRAIN_ARCH_FILE_H
#define PTRAIN_ARCH_FILE_H

#include "ptrain/arch.h"
#include "ptrain/common.h"

/* A preset ("fmnist", "cxr", "resnet18") or, failing that, a file with the text format. */
int pt_arch_load(const char *preset_or_path, pt_arch *arch, pt_error *err);

#endif
