# Summed gradients from real mpirun -np 2 and 3 (buckets of 64 floats, so many reductions overlap
# backward) equal one process's gradient on the whole batch.
source "$(dirname "$0")/lib.sh"
for np in 1 2 3; do
    mpi "$np" "$PTRAIN_TEST_BIN/grad_allreduce"
done
echo "train_grad_allreduce: ok"
