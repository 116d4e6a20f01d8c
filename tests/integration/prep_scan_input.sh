# What a source tree can hold besides images, through the whole tool: link loops, links out of
# the source, FIFOs, dangling links, deep and over-long paths, unreadable folders, quoted NIH CSVs
# with duplicates, IDX files whose counts disagree or whose images are larger than --size allows,
# --classes naming a class with no image. Each is skipped and listed (stderr and /skipped) or
# warned about, never a hang, a crash or a silently wrong cache. And no command blocks on a FIFO.
source "$(dirname "$0")/lib.sh"

prep() { mpi 2 "$BIN/ptrain-prep" --size 16 --quiet "$@"; }
# images in a cache, over its three splits
total() { digest "$1" | sed -n 's/^[a-z]* count=\([0-9]*\).*/\1/p' | awk '{n += $1} END {print n}'; }

# ---- a loop inside a class folder, links out of the source, a FIFO, a dangling link ----------
src="$WORK/chest_xray"
synth "$src" --count 24 --min-size 32 --max-size 48 --seed 4
expect_exit 0 prep --src "$src" --out "$WORK/base.h5"
digest "$WORK/base.h5" >"$WORK/base.digest"

ln -s . "$src/train/NORMAL/loop"
ln -s ../.. "$src/test/PNEUMONIA/up"
mkdir -p "$WORK/elsewhere"
cp "$(ls "$src"/train/NORMAL/*.jpeg | head -n 1)" "$WORK/elsewhere/IM-0999-0001.jpeg"
ln -s "$WORK/elsewhere" "$src/train/NORMAL/more"
ln -s "$WORK/elsewhere/IM-0999-0001.jpeg" "$src/train/NORMAL/IM-0998-0001.jpeg"
mkfifo "$src/train/PNEUMONIA/person999_virus_1.jpeg"
ln -s gone.jpeg "$src/test/NORMAL/IM-0997-0001.jpeg"
expect_exit 0 timeout 120 "$MPIEXEC" -np 2 "$BIN/ptrain-prep" --src "$src" --out "$WORK/c.h5" \
    --size 16 --quiet
for what in "train/NORMAL/loop: folder already scanned" "test/PNEUMONIA/up: folder already scanned" \
    "train/NORMAL/more: symbolic link to" "train/NORMAL/IM-0998-0001.jpeg: symbolic link to" \
    "train/PNEUMONIA/person999_virus_1.jpeg: not a regular file (FIFO)" \
    "test/NORMAL/IM-0997-0001.jpeg: dangling symbolic link"; do
    expect_in "$WORK/err" "skipped: $what"
done
expect_in "$WORK/err" "--follow-symlinks"
digest "$WORK/c.h5" >"$WORK/c.digest"
expect_in "$WORK/c.digest" "skipped=6"
# every image once, as in the clean tree: the same images, labels and patients
diff <(grep -E '^(train|val|test)' "$WORK/base.digest") <(grep -E '^(train|val|test)' "$WORK/c.digest") ||
    fail "the loop, the links or the FIFO changed what was imported"

# --follow-symlinks: the links out of the source are followed, the loops are still not
rm "$src/train/PNEUMONIA/person999_virus_1.jpeg" "$src/test/NORMAL/IM-0997-0001.jpeg"
expect_exit 0 prep --src "$src" --out "$WORK/f.h5" --follow-symlinks
expect_in "$WORK/err" "loop: folder already scanned"
grep -q "symbolic link to" "$WORK/err" && fail "--follow-symlinks still skipped a link"
digest "$WORK/f.h5" >"$WORK/f.digest"
expect_in "$WORK/f.digest" "skipped=2"
[ "$(total "$WORK/f.h5")" -eq $(($(total "$WORK/base.h5") + 2)) ] ||
    fail "--follow-symlinks did not import the two images behind the links"
# --strict: a link out of the source stops the run
rm "$src/train/NORMAL/more" "$src/train/NORMAL/IM-0998-0001.jpeg"
expect_exit 1 prep --src "$src" --out "$WORK/s.h5" --strict
expect_in "$WORK/err" "already scanned"
rm "$src/train/NORMAL/loop" "$src/test/PNEUMONIA/up"

# ---- a deep tree, an over-long path, an unreadable folder ------------------------------------
tree="$WORK/tree"
mkdir -p "$tree/cat" "$tree/dog"
one=$(ls "$src"/train/NORMAL/*.jpeg | head -n 1)
cp "$one" "$tree/cat/a.jpeg"
cp "$one" "$tree/dog/b.jpeg"
deep="$tree/cat"
for _ in $(seq 1000); do deep="$deep/d"; done
mkdir -p "$deep"
cp "$one" "$deep/deep.jpeg"
long=$(printf 'x%.0s' $(seq 200))
(cd "$tree/dog" && for _ in $(seq 22); do mkdir "$long" && cd "$long"; done && cp "$one" far.jpeg)
expect_exit 0 prep --src "$tree" --out "$WORK/t.h5" --layout imagefolder --val-frac 0 --test-frac 0
expect_in "$WORK/err" "path too long"
digest "$WORK/t.h5" >"$WORK/t.digest"
expect_in "$WORK/t.digest" "skipped=1"
[ "$(total "$WORK/t.h5")" -eq 3 ] || fail "the image 1000 folders down was not imported"
expect_exit 1 prep --src "$tree" --out "$WORK/t2.h5" --layout imagefolder --strict
expect_in "$WORK/err" "path too long"
rm -rf "$tree/dog/$long"

# root reads every folder: the unreadable one is checked as the user nobody, when there is one
if [ "$(id -u)" -eq 0 ] && id nobody >/dev/null 2>&1 && command -v setpriv >/dev/null; then
    mkdir -p "$tree/dog/locked"
    cp "$one" "$tree/dog/locked/c.jpeg"
    chmod 000 "$tree/dog/locked"
    chmod -R a+rX "$WORK" && chmod 000 "$tree/dog/locked"
    mkdir -p "$WORK/nobody" && chown nobody "$WORK/nobody"
    expect_exit 0 setpriv --reuid=nobody --regid=nogroup --clear-groups \
        "$BIN/ptrain-prep" --src "$tree" --out "$WORK/nobody/u.h5" --size 16 --quiet \
        --layout imagefolder --val-frac 0 --test-frac 0
    expect_in "$WORK/err" "dog/locked: cannot read folder: Permission denied"
    chmod 755 "$tree/dog/locked"
fi

# ---- NIH CSV: quoted fields, a BOM, CRLF, duplicate rows -------------------------------------
nih="$WORK/nih"
mkdir -p "$nih/images"
i=0
for f in "$src"/*/*/*.jpeg; do
    i=$((i + 1))
    cp "$f" "$nih/images/$(printf '%08d_000.png' $i)"
    [ $i -lt 12 ] || break
done
{
    printf '\xef\xbb\xbfImage Index,Finding Labels,Notes,Patient ID\r\n'
    for n in $(seq 1 12); do
        printf '"%08d_000.png","Effusion|Mass","left, small",%d\r\n' "$n" $((n / 2))
    done
    printf '00000003_000.png,Hernia,"second\r\nrow",1\r\n'
} >"$nih/Data_Entry_2017.csv"
expect_exit 0 prep --src "$nih" --out "$WORK/n.h5"
expect_in "$WORK/err" "listed more than once (e.g. 00000003_000.png"
digest "$WORK/n.h5" >"$WORK/n.digest"
grep -q '"' "$WORK/n.digest" && fail "a quote made it into a class name or patient id"
grep -q "Hernia" "$WORK/n.digest" && fail "the duplicate row's finding was imported"
expect_in "$WORK/n.digest" "class 0 Effusion"
expect_in "$WORK/n.digest" "class 1 Mass"
[ "$(total "$WORK/n.h5")" -eq 12 ] || fail "12 images listed, the duplicate once: not 12 imported"

# ---- IDX: fewer labels than images; images larger than --size allows ---------------------------
idx="$WORK/idx"
mkdir -p "$idx"
# 3 images of 2x2, 2 labels
printf '\x00\x00\x08\x03\x00\x00\x00\x03\x00\x00\x00\x02\x00\x00\x00\x02\x01\x02\x03\x04\x05\x06\x07\x08\x09\x0a\x0b\x0c' \
    >"$idx/train-images-idx3-ubyte"
printf '\x00\x00\x08\x01\x00\x00\x00\x02\x00\x01' >"$idx/train-labels-idx1-ubyte"
expect_exit 0 mpi 1 "$BIN/ptrain-prep" --src "$idx" --out "$WORK/i.h5" --quiet --val-frac 0 \
    --classes zero,one,two
expect_in "$WORK/err" "3 images but 2 labels"
expect_in "$WORK/err" "class 'two' (named by --classes) has no image"
# one 4100x4100 image: the cache holds it at 4096, the most --size allows
big="$WORK/big"
mkdir -p "$big"
{ printf '\x00\x00\x08\x03\x00\x00\x00\x01\x00\x00\x10\x04\x00\x00\x10\x04'; head -c $((4100 * 4100)) /dev/zero; } |
    gzip -1 >"$big/train-images-idx3-ubyte.gz"
printf '\x00\x00\x08\x01\x00\x00\x00\x01\x00' | gzip >"$big/train-labels-idx1-ubyte.gz"
expect_exit 0 mpi 1 "$BIN/ptrain-prep" --src "$big" --out "$WORK/b.h5" --val-frac 0 --test-frac 0
expect_in "$WORK/out" "4096x4096"

# ---- no command waits on a FIFO --------------------------------------------------------------
mkfifo "$WORK/pipe.h5" "$WORK/pipe.jpeg"
printf '[conv]\nfilters=2\nsize=3\npad=1\n[avgpool]\n[dense]\noutputs=classes\n' >"$WORK/tiny.arch"
expect_exit 0 timeout -s KILL 120 "$BIN/ptrain" train --data "$WORK/base.h5" --arch "$WORK/tiny.arch" \
    --epochs 1 --batch 8 --run-dir "$WORK/run" --quiet
for cmd in "predict --model $WORK/run/model.h5 $WORK/pipe.jpeg" \
    "predict --model $WORK/pipe.h5 $one" \
    "eval --model $WORK/run/model.h5 --data $WORK/pipe.h5" \
    "train --data $WORK/pipe.h5 --run-dir $WORK/run2 --quiet" \
    "train --data $WORK/base.h5 --arch $WORK/pipe.h5 --run-dir $WORK/run3 --quiet"; do
    # shellcheck disable=SC2086  # the command line is split on purpose
    expect_exit 1 timeout -s KILL 30 "$BIN/ptrain" $cmd
    expect_in "$WORK/err" "pipe."
done
expect_exit 1 timeout -s KILL 30 "$BIN/ptrain-prep" --src "$WORK/pipe.h5" --out "$WORK/p.h5"
expect_in "$WORK/err" "pipe.h5: not a folder or a regular file"
echo "prep_scan_input: ok"
