/* Deletes an object (a dataset or a group) from an HDF5 file, to fake a damaged checkpoint or
 * model file.   h5_unlink FILE PATH */
#include <hdf5.h>
#include <stdio.h>

int main(int argc, char **argv)
{
    if (argc != 3) {
        fprintf(stderr, "usage: h5_unlink FILE PATH\n");
        return 2;
    }
    hid_t f = H5Fopen(argv[1], H5F_ACC_RDWR, H5P_DEFAULT);
    if (f < 0)
        return 1;
    int rc = H5Ldelete(f, argv[2], H5P_DEFAULT) >= 0 ? 0 : 1;
    H5Fclose(f);
    return rc;
}
