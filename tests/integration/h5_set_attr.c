/* Overwrites an integer attribute of an HDF5 file's root group, to fake a file of another
 * format version.   h5_set_attr FILE NAME VALUE */
#include <hdf5.h>
#include <stdio.h>
#include <stdlib.h>

int main(int argc, char **argv)
{
    if (argc != 4) {
        fprintf(stderr, "usage: h5_set_attr FILE NAME VALUE\n");
        return 2;
    }
    long long value = atoll(argv[3]);
    hid_t f = H5Fopen(argv[1], H5F_ACC_RDWR, H5P_DEFAULT);
    if (f < 0)
        return 1;
    hid_t a = H5Aopen(f, argv[2], H5P_DEFAULT);
    int rc = a >= 0 && H5Awrite(a, H5T_NATIVE_LLONG, &value) >= 0 ? 0 : 1;
    if (a >= 0)
        H5Aclose(a);
    H5Fclose(f);
    return rc;
}
