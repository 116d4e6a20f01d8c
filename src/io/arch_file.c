/* Architectures from a preset name or a text file (see arch_file.h). */
#include "ptrain/arch_file.h"

#include <stdlib.h>
#include <string.h>

#include "ptrain/fs.h"

int pt_arch_load(const char *preset_or_path, pt_arch *arch, pt_error *err)
{
    char *preset = pt_arch_preset_text(preset_or_path);
    if (preset) {
        free(preset);
        return pt_arch_preset(preset_or_path, arch, err);
    }
    uint8_t *data = NULL;
    size_t size = 0;
    int status = pt_fs_read_file(preset_or_path, &data, &size, err);
    if (status != PT_OK)
        return pt_error_set(err, status,
                            "--arch: '%s' is neither a preset (fmnist, cxr, resnet18) nor a "
                            "readable file",
                            preset_or_path);
    char *nul_terminated = realloc(data, size + 1);
    if (!nul_terminated) {
        free(data);
        return pt_error_set(err, PT_ERR_NOMEM, "out of memory");
    }
    nul_terminated[size] = '\0';
    if (memchr(nul_terminated, '\0', size))
        status = pt_error_set(err, PT_ERR_INVALID, "%s: not a text file", preset_or_path);
    else
        status = pt_arch_parse(nul_terminated, preset_or_path, arch, err);
    free(nul_terminated);
    return status;
}
