#!/bin/sh
# Training on a lent GPU in one `device` call (issue 17 §3). Three steps:
#
#   tools/train/gpu-run.sh pack                # here: data/train-runs/gpu-pack.tar (<= 48 MiB)
#   # the device call, from the repo root, carry ["data/train-runs/gpu-pack.tar"], timeout_s 600:
#   tools/train/gpu-run.sh train --preset full --vq-steps 0 --vqdec-steps 0 --tm-minutes 5 --tm-steps 20000 --tm-tokens 20000
#   (continues the shipped model: its VQ as is, the transformer further; rendering the token
#   bank takes about 5 ms a sample on one CPU core, so keep bank + minutes within 7 minutes)
#   tools/train/gpu-run.sh unpack FILES_AT data/train-runs/gpu-model   # here: the model folder again
#
# `train` needs $OUT (the device's return folder): it unpacks the images, runs tools/train/train.py
# (CUDA when torch sees it) with the arguments given, starting from the shipped model's matching
# weights (--init-from), exports, and leaves in $OUT at most 8 files of at most 16 MiB: the three
# safetensors, small.tar (configs, tokenizer, card, vocabulary) and train.log. TRAIN_LIMIT_S
# (default 510) ends the run with what it has, so that the export still comes back within
# the device's 9 minutes. Checked end to end on the CPU with --preset smoke.
set -eu
here=$(cd "$(dirname "$0")" && pwd)
root=$(cd "$here/../.." && pwd)
py=/usr/bin/python3
"$py" -c 'import torch' 2>/dev/null || py=python3
cmd=${1:-}
[ $# -gt 0 ] && shift

case "$cmd" in
pack)
  cd "$root"
  exec "$py" tools/train/gpu_pack.py "$@"
  ;;
train)
  : "${OUT:?set OUT to the folder that comes back}"
  cd "$root"
  work=$(mktemp -d /tmp/tessera-gpu.XXXXXX)
  tar -xf data/train-runs/gpu-pack.tar -C "$work"
  "$py" -c 'import torch; print("torch", torch.__version__, "cuda", torch.cuda.is_available(), torch.cuda.get_device_name(0) if torch.cuda.is_available() else "")' | tee "$OUT/train.log"
  rc=0
  timeout -s INT "${TRAIN_LIMIT_S:-510}" "$py" tools/train/train.py --data "$work/emoji128" --run "$work/run" \
      --init-from data/models/tessera-emoji-128 "$@" >>"$OUT/train.log" 2>&1 || rc=$?
  echo "train.py rc=$rc" >>"$OUT/train.log"
  # export whatever the stages reached (each checkpoints when stopped by its time budget)
  "$py" tools/train/train.py --data "$work/emoji128" --run "$work/run" --stage export \
      --export "$work/model" "$@" >>"$OUT/train.log" 2>&1
  cp "$work/model/text_encoder/model.safetensors" "$OUT/text_encoder.safetensors"
  cp "$work/model/transformer/diffusion_pytorch_model.safetensors" "$OUT/transformer.safetensors"
  cp "$work/model/vqvae/diffusion_pytorch_model.safetensors" "$OUT/vqvae.safetensors"
  (cd "$work/model" && find . -type f ! -name '*.safetensors' | sort | tar -cf "$OUT/small.tar" -T -)
  ls -l "$OUT" >>"$OUT/train.log"
  rm -rf "$work"
  for f in "$OUT"/*; do
    [ "$(stat -c %s "$f")" -le 16777216 ] || { echo "$f is over 16 MiB" >&2; exit 1; }
  done
  ;;
unpack)
  src=${1:?FILES_AT}; dest=${2:?destination model folder}
  rm -rf "$dest.partial"; mkdir -p "$dest.partial"
  tar -xf "$src/small.tar" -C "$dest.partial"
  cp "$src/text_encoder.safetensors" "$dest.partial/text_encoder/model.safetensors"
  cp "$src/transformer.safetensors" "$dest.partial/transformer/diffusion_pytorch_model.safetensors"
  cp "$src/vqvae.safetensors" "$dest.partial/vqvae/diffusion_pytorch_model.safetensors"
  rm -rf "$dest"; mv "$dest.partial" "$dest"
  echo "$dest: $(du -sh "$dest" | cut -f1)"
  ;;
*)
  sed -n '2,18p' "$0"; exit 2
  ;;
esac
