# The layering is enforced by the build, and this test says so: the unit tests of the nn layer
# link ptrain_nn alone, so their binaries need no MPI, HDF5, libpng, libjpeg or zlib; the I/O
# layer's tests need no MPI of their own beyond what parallel HDF5 brings; the serve layer links
# io and nn, never dist; and only src/dist includes mpi.h.
source "$(dirname "$0")/lib.sh"

src="${PTRAIN_SOURCE_DIR:?}"
tests_bin="${PTRAIN_TEST_BIN:?}"

build="$(dirname "$BIN")" # PTRAIN_BIN is <build>/bin

# The link line CMake wrote for a test: what the layer's library and its own dependencies bring,
# before the linker's --as-needed drops anything (so it is the layering, not the code's luck).
link_line() {
    cat "$build/tests/CMakeFiles/$1.dir/link.txt"
}

for t in test_conv test_winograd test_winograd4 test_layers test_net test_loss test_optim test_metrics \
    test_arch test_augment test_sampler test_isa; do
    [ -f "$build/tests/CMakeFiles/$t.dir/link.txt" ] || fail "no link line for $t in $build"
    line="$(link_line "$t")"
    forbidden="$(echo "$line" | tr ' ' '\n' | grep -E 'mpi|hdf5|png|jpeg|libz|ptrain_(io|data|dist|cli)' || true)"
    [ -z "$forbidden" ] || fail "$t (an nn test) links $(echo "$forbidden" | tr '\n' ' ')"
    echo "$line" | grep -q 'libptrain_nn\.a' || fail "$t does not link ptrain_nn: $line"
    # and the binary itself loads none of them (NEEDED entries, not what Criterion loads)
    needed="$(readelf -d "$tests_bin/$t" | sed -n 's/.*(NEEDED).*\[\(.*\)\]/\1/p')"
    echo "$needed" | grep -qE 'libmpi|libhdf5|libpng|libjpeg' && fail "$t loads $needed"
    # libgomp (-fopenmp) is allowed: it is the compiler's own OpenMP runtime, which runs a rank's
    # threads in every layer (include/ptrain/threads.h), not a library the project depends on; it brings
    # no MPI, HDF5 or codec with it (the checks above hold for it too)
done

# serve: the server is one process over io and nn; its test links no dist, data or cli layer, and
# its sources use no MPI (pt_comm) of their own
[ -f "$build/tests/CMakeFiles/test_serve.dir/link.txt" ] || fail "no link line for test_serve"
line="$(link_line test_serve)"
forbidden="$(echo "$line" | tr ' ' '\n' | grep -E 'ptrain_(dist|data|cli)' || true)"
[ -z "$forbidden" ] || fail "test_serve (the serve layer) links $(echo "$forbidden" | tr '\n' ' ')"
echo "$line" | grep -q 'libptrain_serve\.a' || fail "test_serve does not link ptrain_serve: $line"
comm_in_serve="$(grep -lE '"ptrain/comm\.h"|MPI_' "$src"/src/serve/*.[ch] || true)"
[ -z "$comm_in_serve" ] || fail "MPI in src/serve: $comm_in_serve"

# mpi.h: src/dist only (parallel HDF5's own hdf5.h includes it too, which is allowed)
outside="$(grep -rlE '#include <mpi\.h>|"comm_mpi\.h"' "$src/src" "$src/data-prep" "$src/include" |
    grep -v "^$src/src/dist/" || true)"
[ -z "$outside" ] || fail "mpi.h included outside src/dist: $outside"

# nn sources use no files, HDF5 or codecs
io_in_nn="$(grep -lE 'fopen|hdf5\.h|png\.h|jpeglib\.h|<dirent\.h>' "$src"/src/nn/*.[ch] || true)"
[ -z "$io_in_nn" ] || fail "file or codec calls in src/nn: $io_in_nn"

echo "layering: ok"
