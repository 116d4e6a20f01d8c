/* Where the model to serve is (see pt_serve_find_model in serve.h). */
#include <dirent.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "ptrain/fs.h"
#include "ptrain/serve.h"

/* dir/model.h5, else the first (by name) dir/<sub>/model.h5: Azure ML mounts a registered model
 * as a folder named after it, KServe copies the storage URI's contents. 1 when found. */
static int model_in_dir(const char *dir, char *path, size_t cap)
{
    snprintf(path, cap, "%s/model.h5", dir);
    if (pt_fs_is_file(path))
        return 1;
    struct dirent **names = NULL;
    int n = scandir(dir, &names, NULL, alphasort);
    int found = 0;
    for (int i = 0; i < n; i++) {
        if (!found && names[i]->d_name[0] != '.') {
            snprintf(path, cap, "%s/%s/model.h5", dir, names[i]->d_name);
            found = pt_fs_is_file(path);
        }
        free(names[i]);
    }
    free(names);
    return found;
}

int pt_serve_find_model(const char *arg, char *path, size_t cap, pt_error *err)
{
    if (arg) {
        if (pt_fs_is_dir(arg)) {
            if (model_in_dir(arg, path, cap))
                return PT_OK;
            return pt_error_set(err, PT_ERR_IO, "--model %s: a folder with no model.h5 in it", arg);
        }
        /* a file, or a missing one: pt_model_load says which */
        if (pt_strlcpy(path, arg, cap) != 0)
            return pt_error_set(err, PT_ERR_INVALID, "--model: path too long");
        return PT_OK;
    }
    const char *azure = getenv("AZUREML_MODEL_DIR");
    const char *places[] = {"/opt/ml/model", azure && *azure ? azure : NULL, "/mnt/models"};
    for (size_t i = 0; i < sizeof places / sizeof places[0]; i++)
        if (places[i] && pt_fs_is_dir(places[i]) && model_in_dir(places[i], path, cap))
            return PT_OK;
    return pt_error_set(err, PT_ERR_IO,
                        "no --model, and no model.h5 in /opt/ml/model (SageMaker), "
                        "$AZUREML_MODEL_DIR (Azure ML: %s) or /mnt/models (KServe)",
                        azure && *azure ? azure : "not set");
}
