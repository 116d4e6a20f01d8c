# Summed gradients from real mpirun -np 2 and 3 equal one process's gradient on the whole batch:
# the bucketed allreduce (buckets of 64 floats, so many reductions overlap backward) and the
# node-sharded sums, on one node and on nodes simulated by PTRAIN_RANKS_PER_NODE (the sums across
# nodes), slices of uneven size included (3 ranks).
source "$(dirname "$0")/lib.sh"
for np in 1 2 3; do
    mpi "$np" "$PTRAIN_TEST_BIN/grad_allreduce"
    mpi "$np" "$PTRAIN_TEST_BIN/grad_allreduce" shard | tee "$WORK/out"
    expect_in "$WORK/out" "$np rank(s) per node, 1 node(s)"
done
PTRAIN_RANKS_PER_NODE=1 mpi 3 "$PTRAIN_TEST_BIN/grad_allreduce" shard | tee "$WORK/out"
expect_in "$WORK/out" "1 rank(s) per node, 3 node(s)"
PTRAIN_RANKS_PER_NODE=2 mpi 4 "$PTRAIN_TEST_BIN/grad_allreduce" shard | tee "$WORK/out"
expect_in "$WORK/out" "2 rank(s) per node, 2 node(s)"
echo "train_grad_allreduce: ok"
