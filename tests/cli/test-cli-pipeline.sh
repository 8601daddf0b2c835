#!/usr/bin/env bash
# tessera-cli's pipeline subcommands end to end on the tiny goldens model, and their errors:
# missing files, unreadable images, mask size mismatch, invalid numbers. TAP output.
# Usage: test-cli-pipeline.sh PATH-TO-tessera-cli GOLDENS-DIR TINY-MODEL-DIR
# (the tiny model's folder as the goldens' manifest names it; meson reads it at configure time)
set -u
# shellcheck source=tap.sh
source "$(dirname "$0")/tap.sh"
goldens_setup "$@"

check_file() { # check_file NAME FILE SIZE(WxH)
  n=$((n + 1))
  if [ -s "$2" ] && file "$2" | grep -q "$3"; then
    echo "ok $n - $1"
  else
    failed=$((failed + 1))
    echo "not ok $n - $1 ($(file "$2" 2>&1))"
  fi
}

img="$goldens/pipeline/inpaint_input_256x256.png"
mask="$goldens/pipeline/inpaint_mask_256x256.png"
m=(--model "$model" --steps 2)

check "generate --help lists the options" 0 "--variants" -- "$cli" generate --help
check "generate with variants" 0 "out-2.png \(seed 8\)" -- "$cli" generate "${m[@]}" -p "a cat" -s 7 --variants 2 -o "$tmp/out.png"
check_file "variant 1 written" "$tmp/out-1.png" "128 x 128"
check_file "variant 2 written" "$tmp/out-2.png" "128 x 128"
check "same seed, same image" 0 "seed 8" -- "$cli" generate "${m[@]}" -p "a cat" -s 8 -o "$tmp/again.png"
n=$((n + 1))
if cmp -s "$tmp/out-2.png" "$tmp/again.png"; then echo "ok $n - seed 8 alone equals variant 2"; else failed=$((failed + 1)); echo "not ok $n - seed 8 alone differs from variant 2"; fi
check "generate a JPEG of another size" 0 "seed 0" -- "$cli" generate "${m[@]}" -p "a dog" --width 96 --height 64 -o "$tmp/g.jpg"
check_file "JPEG written" "$tmp/g.jpg" "JPEG"
check "restyle" 0 "seed" -- "$cli" restyle "${m[@]}" "$tmp/g.jpg" -p "oil" --strength 0.7 -o "$tmp/r.png"
check_file "restyle keeps the size" "$tmp/r.png" "96 x 64"
check "edit" 0 "seed" -- "$cli" edit "${m[@]}" "$tmp/out-1.png" -p "snow" --iterations 2 --fraction 0.2 -o "$tmp/e.png"
check "inpaint" 0 "seed" -- "$cli" inpaint "${m[@]}" "$img" --mask "$mask" -p "a sun" -o "$tmp/i.png"
check_file "inpaint keeps the size" "$tmp/i.png" "256 x 256"
check "outpaint" 0 "seed" -- "$cli" outpaint "${m[@]}" "$tmp/out-1.png" --extend left=32,bottom=16 -o "$tmp/o.png"
check_file "outpaint grows the canvas" "$tmp/o.png" "160 x 144"
check "background" 0 "seed" -- "$cli" background "${m[@]}" "$img" --mask "$mask" -p "a beach" -o "$tmp/b.png"
check "info describes the model" 0 "Native size: 128" -- "$cli" info --device cpu --model "$model"
# TESSERA_PROFILE (a developer's aid, docs/cpu-precision.md): the ops' times as JSON lines
check "TESSERA_PROFILE prints the op profile" 0 '^\{"profile":"matmul","count":[1-9][0-9]*,"seconds":[0-9.]+' -- env TESSERA_PROFILE=1 "$cli" generate "${m[@]}" -p "a cat" --precision int8 -o "$tmp/prof.png"

check "invalid --steps" 2 "invalid --steps" -- "$cli" generate "${m[@]}" -p x --steps abc -o "$tmp/x.png"
check "invalid --guidance" 2 "invalid --guidance" -- "$cli" generate --model "$model" -p x -g nan -o "$tmp/x.png"
check "invalid --seed" 2 "invalid --seed" -- "$cli" generate --model "$model" -p x -s -3 -o "$tmp/x.png"
check "invalid --strength" 2 "invalid --strength" -- "$cli" restyle --model "$model" "$img" -p x --strength 2 -o "$tmp/x.png"
check "invalid --extend" 2 "invalid --extend" -- "$cli" outpaint --model "$model" "$img" --extend middle=3 -o "$tmp/x.png"
check "generate size not a multiple" 1 "multiples of 32" -- "$cli" generate "${m[@]}" -p x --width 100 -o "$tmp/x.png"
check "missing output" 2 "output file is required" -- "$cli" generate --model "$model" -p x
check "unknown output format" 2 "must end in" -- "$cli" generate --model "$model" -p x -o "$tmp/x.gif"
check "missing prompt" 2 "prompt is required" -- "$cli" generate --model "$model" -o "$tmp/x.png"
check "missing input file" 1 "cannot read image .*nothere.png" -- "$cli" restyle --model "$model" "$tmp/nothere.png" -p x -o "$tmp/x.png"
echo "not an image" > "$tmp/bad.png"
check "unreadable image" 1 "cannot read image .*bad.png" -- "$cli" inpaint --model "$model" "$tmp/bad.png" --mask "$mask" -p x -o "$tmp/x.png"
check "missing mask option" 2 "mask is required" -- "$cli" inpaint --model "$model" "$img" -p x -o "$tmp/x.png"
check "mask size mismatch" 1 "mask is 128×128 but the image is 256×256" -- "$cli" inpaint --model "$model" "$img" --mask "$tmp/out-1.png" -p x -o "$tmp/x.png"
check "missing model folder" 1 "does not exist" -- "$cli" generate --model "$tmp/nomodel" -p x -o "$tmp/x.png"
check "not a model folder" 1 "is not a model folder \(no model_index.json\)" -- "$cli" generate --model "$tmp" -p x -o "$tmp/x.png"
# A model's tessera-defaults.json sets the guidance when --guidance is not given: the same
# picture as with -g 3, another than the family's 10; a damaged file is a clear error.
own="$tmp/own-defaults"
mkdir "$own" && cp -r "$model"/. "$own"/
echo '{"guidance": 3}' >"$own/tessera-defaults.json"
"$cli" generate --model "$own" --steps 2 -p "a cat" -s 3 -o "$tmp/d-own.png" >/dev/null 2>&1
"$cli" generate --model "$model" --steps 2 -p "a cat" -s 3 -g 3 -o "$tmp/d-g3.png" >/dev/null 2>&1
"$cli" generate --model "$own" --steps 2 -p "a cat" -s 3 -g 10 -o "$tmp/d-g10.png" >/dev/null 2>&1
n=$((n + 1))
if [ -s "$tmp/d-own.png" ] && cmp -s "$tmp/d-own.png" "$tmp/d-g3.png" && ! cmp -s "$tmp/d-own.png" "$tmp/d-g10.png"; then
  echo "ok $n - the model's default guidance is used without --guidance, and --guidance wins"
else
  failed=$((failed + 1)); echo "not ok $n - the model's default guidance (tessera-defaults.json) was not used"
fi
echo '{"guidance": "high"}' >"$own/tessera-defaults.json"
check "a damaged tessera-defaults.json is a clear error" 1 "tessera-defaults.json: \"guidance\" must be a number" -- "$cli" generate --model "$own" -p x -o "$tmp/x.png"
n=$((n + 1))
if [ ! -e "$tmp/x.png" ]; then echo "ok $n - failed runs write no output"; else failed=$((failed + 1)); echo "not ok $n - a failed run wrote $tmp/x.png"; fi

echo "1..$n"
[ "$failed" -eq 0 ]
