#!/usr/bin/env bash
# tessera-cli's first five minutes (issue 16): mistakes are caught before the model loads,
# with a message that says what to do; warnings come before the work; each subcommand's help
# lists its own options; progress shows on request; -q is silent; the device fallback line
# only with -v. Runs on the tiny goldens model. TAP output.
# Usage: test-cli-checks.sh PATH-TO-tessera-cli GOLDENS-DIR [TINY-MODEL-DIR]
# (the tiny model's folder as the goldens' manifest names it; default GOLDENS-DIR/tiny-amused)
set -u
# shellcheck source=tap.sh
source "$(dirname "$0")/tap.sh"
goldens_setup "$@"

ok() { n=$((n + 1)); echo "ok $n - $1"; }
not_ok() { # not_ok NAME WHY [OUTPUT-FILE]
  n=$((n + 1))
  failed=$((failed + 1))
  echo "not ok $n - $1 ($2)"
  if [ -n "${3:-}" ]; then sed 's/^/# /' "$3" | tail -n 20; fi
}

# run ARGS...: status in $status, stdout in $tmp/out, stderr in $tmp/err (both captured, so
# stderr is not a terminal here).
run() {
  "$@" >"$tmp/out" 2>"$tmp/err"
  status=$?
}

# caught NAME STATUS MESSAGE -- COMMAND...: the command fails with STATUS and exactly MESSAGE
# as its one stderr line, writes no $tmp/x.png, and never reached the model load (the -v
# "model … loaded" line) nor the timings.
caught() {
  local name="$1" want="$2" message="$3"
  shift 4
  rm -f "$tmp/x.png"
  run "$@" -v
  if [ "$status" -ne "$want" ]; then
    not_ok "$name" "status $status, wanted $want" "$tmp/err"
  elif [ "$(cat "$tmp/err")" != "$message" ]; then
    not_ok "$name" "stderr is not exactly: $message" "$tmp/err"
  elif [ -e "$tmp/x.png" ]; then
    not_ok "$name" "an output file was written"
  elif grep -qE "loaded on|total .* s" "$tmp/err" "$tmp/out"; then
    not_ok "$name" "the model was loaded" "$tmp/err"
  else
    ok "$name"
  fi
}

# warned_before_load NAME MESSAGE -- COMMAND...: the command succeeds and MESSAGE is a line of
# its stderr that comes before the model load (the -v "loaded" line).
warned_before_load() {
  local name="$1" message="$2"
  shift 3
  run "$@" -v
  local warn_line load_line
  warn_line=$(grep -nFx -- "$message" "$tmp/err" | head -n1 | cut -d: -f1)
  load_line=$(grep -n "loaded on" "$tmp/err" | head -n1 | cut -d: -f1)
  if [ "$status" -ne 0 ]; then
    not_ok "$name" "status $status" "$tmp/err"
  elif [ -z "$warn_line" ]; then
    not_ok "$name" "no line: $message" "$tmp/err"
  elif [ -z "$load_line" ] || [ "$warn_line" -ge "$load_line" ]; then
    not_ok "$name" "the warning is not before the model load" "$tmp/err"
  else
    ok "$name"
  fi
}

m=(--model "$model" --steps 2)
big="$goldens/pipeline/inpaint_input_256x256.png" # twice the tiny model's 128
bigmask="$goldens/pipeline/inpaint_mask_256x256.png"

# ---- mistakes caught before any work ----
echo "P" >"$tmp/m.png"
caught "generate --mask names the subcommands that take it" 2 \
  "tessera-cli generate: --mask is an option of inpaint and background, not of generate; use “tessera-cli inpaint”" \
  -- "$cli" generate "${m[@]}" --mask "$tmp/m.png" "red apple" -o "$tmp/x.png"
caught "restyle --width names generate" 2 \
  "tessera-cli restyle: --width is an option of generate, not of restyle; use “tessera-cli generate”" \
  -- "$cli" restyle "${m[@]}" "$tmp/m.png" "oil" --width 64 -o "$tmp/x.png"
caught "generate --strength names the four subcommands" 2 \
  "tessera-cli generate: --strength is an option of inpaint, outpaint, background and restyle, not of generate; use “tessera-cli inpaint”" \
  -- "$cli" generate "${m[@]}" --strength 0.5 "red apple" -o "$tmp/x.png"
caught "output folder missing" 1 \
  "tessera-cli generate: cannot write “/nonexistent/dir/x.png”: the folder “/nonexistent/dir” does not exist" \
  -- "$cli" generate "${m[@]}" "red apple" -o /nonexistent/dir/x.png
mkdir "$tmp/out.png"
caught "output is a folder" 1 \
  "tessera-cli generate: cannot write “$tmp/out.png”: it is a folder; give a file name such as $tmp/out.png/out.png" \
  -- "$cli" generate "${m[@]}" "red apple" -o "$tmp/out.png"
mkdir "$tmp/notamodel"
caught "not a model folder" 1 \
  "tessera-cli generate: “$tmp/notamodel” is not a model folder (no model_index.json)" \
  -- "$cli" generate --model "$tmp/notamodel" "red apple" -o "$tmp/x.png"
run "$cli" info --device cpu --model "$tmp/notamodel"
if [ "$status" -eq 1 ] && grep -qF "“$tmp/notamodel” is not a model folder (no model_index.json)" "$tmp/out" "$tmp/err"; then
  ok "info --model on a plain folder"
else not_ok "info --model on a plain folder" "status $status" "$tmp/out"; fi
caught "model folder missing" 1 \
  "tessera-cli generate: model folder “$tmp/nomodel” does not exist" \
  -- "$cli" generate --model "$tmp/nomodel" "red apple" -o "$tmp/x.png"
caught "prompt given twice" 2 \
  "tessera-cli generate: the prompt is given twice: with --prompt and as “pear”" \
  -- "$cli" generate "${m[@]}" -p "red apple" pear -o "$tmp/x.png"
caught "unquoted prompt" 2 \
  "tessera-cli generate: too many arguments; usage: tessera-cli generate [OPTION…] PROMPT (put quotes around a prompt with spaces)" \
  -- "$cli" generate "${m[@]}" red apple -o "$tmp/x.png"
caught "missing prompt shows the usage" 2 \
  "tessera-cli restyle: a prompt is required; usage: tessera-cli restyle [OPTION…] IMAGE PROMPT" \
  -- "$cli" restyle "${m[@]}" "$tmp/m.png" -o "$tmp/x.png"
caught "edit --grow names inpaint and background" 2 \
  "tessera-cli edit: --grow is an option of inpaint and background, not of edit; use “tessera-cli inpaint”" \
  -- "$cli" edit "${m[@]}" "$tmp/m.png" "snow" --grow 4 -o "$tmp/x.png"
caught "--frame with --whole" 2 \
  "tessera-cli restyle: --frame and --whole exclude each other: a frame of the picture, or the whole picture scaled" \
  -- "$cli" restyle "${m[@]}" "$big" "oil" --frame 0,0 --whole -o "$tmp/x.png"
caught "--frame outside the picture" 2 \
  "tessera-cli restyle: --frame 300,0 is outside the 256×256 picture" \
  -- "$cli" restyle "${m[@]}" "$big" "oil" --frame 300,0 -o "$tmp/x.png"
caught "invalid --frame" 2 \
  "tessera-cli edit: invalid --frame “12”: expected X,Y, the frame's top-left corner in pixels, e.g. --frame 64,32" \
  -- "$cli" edit "${m[@]}" "$big" "snow" --frame 12 -o "$tmp/x.png"
caught "generate --frame without a picture" 2 \
  "tessera-cli generate: --frame and --whole are for a picture: add --image FILE" \
  -- "$cli" generate "${m[@]}" "sun" --frame 0,0 -o "$tmp/x.png"
caught "generate --image with --width" 2 \
  "tessera-cli generate: --width and --height do not go with --image: the result has the picture's size" \
  -- "$cli" generate "${m[@]}" "sun" --image "$big" --width 64 -o "$tmp/x.png"
caught "invalid --grow" 2 \
  "tessera-cli inpaint: invalid --grow “-3”: expected a whole number from 0 to 8192" \
  -- "$cli" inpaint "${m[@]}" "$big" "sun" --mask "$bigmask" --grow -3 -o "$tmp/x.png"
caught "a generate size the model cannot make" 1 \
  "tessera-cli generate: the size 100×128 does not fit this model: width and height must be multiples of 32 (its native size is 128×128)" \
  -- "$cli" generate "${m[@]}" "red apple" --width 100 -o "$tmp/x.png"
caught "a prompt that is not UTF-8" 2 \
  "tessera-cli generate: the prompt is not valid UTF-8 text" \
  -- "$cli" generate "${m[@]}" $'red \xff apple' -o "$tmp/x.png"
caught "outpaint without a side" 2 \
  "tessera-cli outpaint: say how far to extend, e.g. --left 64 --right 64" \
  -- "$cli" outpaint "${m[@]}" "$tmp/m.png" -o "$tmp/x.png"

# ---- warnings before the work ----
long=$(printf 'red apple %.0s' $(seq 40))
warned_before_load "a prompt over 75 tokens: how many are dropped" \
  "tessera-cli generate: warning: the prompt is 80 tokens long but the model reads only the first 75; the last 5 are dropped" \
  -- "$cli" generate "${m[@]}" "$long" -o "$tmp/long.png"
warned_before_load "a long negative prompt too" \
  "tessera-cli generate: warning: the negative prompt is 80 tokens long but the model reads only the first 75; the last 5 are dropped" \
  -- "$cli" generate "${m[@]}" "red apple" -n "$long" -o "$tmp/long.png"
warned_before_load "a size other than the model's" \
  "tessera-cli generate: warning: the model's native size is 128×128; at 64×128 pictures may repeat or lose their composition" \
  -- "$cli" generate "${m[@]}" "red apple" --width 64 -o "$tmp/narrow.png"
warned_before_load "a picture larger than the model: restyle says it is scaled and how to avoid it" \
  "tessera-cli restyle: warning: the picture (256×256) is larger than the 128×128 the model works at; it is processed whole and scaled back, which loses detail: --frame X,Y works on a 128×128 frame of it instead (--whole: no warning)" \
  -- "$cli" restyle "${m[@]}" "$big" "oil" -o "$tmp/scaled.png"
if grep -q "^tessera-cli restyle: warning: processed at 128×128" "$tmp/err"; then ok "the pipeline's notice is printed as a warning"
else not_ok "the pipeline's notice is printed as a warning" "no 'processed at' warning" "$tmp/err"; fi
run "$cli" restyle "${m[@]}" "$big" "oil" --whole -o "$tmp/whole.png"
if [ "$status" -eq 0 ] && ! grep -q "is larger than" "$tmp/err" && grep -q "warning: processed at 128×128" "$tmp/err"; then
  ok "--whole: no advice, the notice stays"
else not_ok "--whole: no advice, the notice stays" "status $status" "$tmp/err"; fi
warned_before_load "generate --image on a larger picture says it is scaled" \
  "tessera-cli generate: warning: the picture (256×256) is larger than the 128×128 the model works at; it is processed whole and scaled back, which loses detail: --frame X,Y works on a 128×128 frame of it instead (--whole: no warning)" \
  -- "$cli" generate "${m[@]}" "sun" --image "$big" -o "$tmp/over.png"
for sub in restyle edit generate; do
  input=("$big")
  [ "$sub" = generate ] && input=(--image "$big")
  run "$cli" "$sub" "${m[@]}" "${input[@]}" "snow" --frame 64,32 --feather 4 -o "$tmp/frame-$sub.png"
  if [ "$status" -eq 0 ] && ! grep -q "warning" "$tmp/err" && file "$tmp/frame-$sub.png" | grep -q "256 x 256"; then
    ok "$sub --frame: works on a frame, keeps the size, no warning"
  else not_ok "$sub --frame: works on a frame, keeps the size, no warning" "status $status" "$tmp/err"; fi
done
warned_before_load "a frame past the picture's edge is moved inside" \
  "tessera-cli restyle: warning: a 128×128 frame at 200,8 would leave the picture; it is moved to 128,8" \
  -- "$cli" restyle "${m[@]}" "$big" "oil" --frame 200,8 -o "$tmp/moved.png"
warned_before_load "a frame on a picture that fits changes nothing" \
  "tessera-cli restyle: warning: the picture (96×128) fits the model, so --frame changes nothing: all of it is processed" \
  -- "$cli" restyle "${m[@]}" "$goldens/pipeline/img2img_input_96x128.png" "oil" --frame 8,8 -o "$tmp/small.png"
run "$cli" inpaint "${m[@]}" "$big" "sun" --mask "$bigmask" --grow 8 --feather 12 -o "$tmp/grown.png"
if [ "$status" -eq 0 ] && file "$tmp/grown.png" | grep -q "256 x 256"; then ok "inpaint --grow --feather"
else not_ok "inpaint --grow --feather" "status $status" "$tmp/err"; fi
run "$cli" generate "${m[@]}" "red apple, 3d style" -o "$tmp/plain.png"
if [ "$status" -eq 0 ] && ! grep -q "warning" "$tmp/err"; then ok "a short prompt at the native size: no warning"
else not_ok "a short prompt at the native size: no warning" "status $status" "$tmp/err"; fi

# ---- help and usage per subcommand ----
# help_lists SUBCOMMAND USAGE-ARGS "OWN OPTIONS" "OTHERS' OPTIONS"
help_lists() {
  local sub="$1" usage="$2" own="$3" others="$4" why=""
  run "$cli" "$sub" --help
  [ "$status" -eq 0 ] || why="status $status"
  grep -qFx "  tessera-cli $sub [OPTION…]${usage:+ $usage}" "$tmp/out" || why="$why; usage line"
  for o in $own; do grep -qE -- "^ +(-., )?$o[= ]" "$tmp/out" || why="$why; lacks $o"; done
  for o in $others; do grep -qE -- "^ +(-., )?$o[= ]" "$tmp/out" && why="$why; lists $o"; done
  if [ -z "$why" ]; then ok "$sub --help: usage line and its own options only"
  else not_ok "$sub --help: usage line and its own options only" "${why#; }" "$tmp/out"; fi
}
help_lists generate "PROMPT" "--prompt --output --width --height --image --frame --whole --feather --seed --variants --quiet --verbose --progress" \
  "--mask --grow --overlap --left --extend --strength --iterations --fraction --max-size"
help_lists edit "IMAGE PROMPT" "--prompt --output --iterations --fraction --max-size --frame --whole --feather" \
  "--mask --grow --overlap --left --width --strength"
help_lists inpaint "IMAGE PROMPT" "--mask --grow --feather --strength --max-size" \
  "--width --image --left --extend --overlap --iterations --frame --whole"
help_lists outpaint "IMAGE [PROMPT]" "--left --right --top --bottom --extend --overlap --strength" \
  "--mask --grow --feather --width --iterations --frame"
help_lists background "IMAGE [PROMPT]" "--mask --grow --feather --strength" \
  "--width --left --overlap --iterations --frame"
help_lists restyle "IMAGE PROMPT" "--strength --max-size --frame --whole --feather" \
  "--mask --grow --overlap --width --left --iterations"
help_lists info "" "--model --device" "--prompt --output"
help_lists selfcheck "" "--device" "--prompt --output"

# ---- what is printed ----
run "$cli" generate "${m[@]}" "red apple" -q -o "$tmp/quiet.png"
if [ "$status" -eq 0 ] && [ -s "$tmp/quiet.png" ] && [ ! -s "$tmp/out" ] && [ ! -s "$tmp/err" ]; then
  ok "-q prints nothing on success"
else
  not_ok "-q prints nothing on success" "status $status, $(cat "$tmp/out" "$tmp/err" | wc -l) lines" "$tmp/err"
fi
run "$cli" generate "${m[@]}" "red apple" -q --width 64 -o "$tmp/quiet.png"
if [ "$status" -eq 0 ] && [ ! -s "$tmp/out" ] && [ ! -s "$tmp/err" ]; then ok "-q also silences warnings"
else not_ok "-q also silences warnings" "status $status" "$tmp/err"; fi
run "$cli" generate "${m[@]}" "red apple" --progress -o "$tmp/progress.png"
if [ "$status" -eq 0 ] && grep -qx "generate: Step 1 of 2 · about .* left" "$tmp/err" &&
   grep -qx "generate: Step 2 of 2 · finishing" "$tmp/err"; then
  ok "--progress shows each step and the time left"
else
  not_ok "--progress shows each step and the time left" "status $status" "$tmp/err"
fi
if [ "$(grep -v "^generate on" "$tmp/err" | head -n 3 | cut -d' ' -f2-3)" = "$(printf 'loading the\npreparing…\nStep 1')" ]; then
  ok "--progress: loading the model, preparing, then the steps"
else
  not_ok "--progress: loading the model, preparing, then the steps" "order" "$tmp/err"
fi
run "$cli" generate "${m[@]}" "red apple" -o "$tmp/piped.png"
if [ "$status" -eq 0 ] && ! grep -q "Step " "$tmp/err"; then ok "no progress in a pipe"
else not_ok "no progress in a pipe" "status $status" "$tmp/err"; fi
# On a terminal (a pty from script(1)): the line is rewritten in place with \r and erased at
# the end; -q keeps even the terminal quiet.
if command -v script >/dev/null; then
  pty() { script -qec "$(printf '%q ' "$@")" /dev/null >"$tmp/pty" 2>&1; status=$?; }
  pty "$cli" generate "${m[@]}" "red apple" -o "$tmp/pty.png"
  if [ "$status" -eq 0 ] && grep -qa $'\rgenerate: Step 1 of 2 · about .* left\e\[K\rgenerate: Step 2 of 2 · finishing\e\[K\r\e\[K' "$tmp/pty"; then
    ok "on a terminal: progress in place, erased at the end"
  else not_ok "on a terminal: progress in place, erased at the end" "status $status" "$tmp/pty"; fi
  pty "$cli" generate "${m[@]}" "red apple" -q -o "$tmp/pty.png"
  if [ "$status" -eq 0 ] && [ ! -s "$tmp/pty" ]; then ok "on a terminal -q prints nothing"
  else not_ok "on a terminal -q prints nothing" "status $status" "$tmp/pty"; fi
else
  ok "on a terminal: progress in place # SKIP script(1) is not installed"
  ok "on a terminal -q prints nothing # SKIP script(1) is not installed"
fi
run "$cli" outpaint "${m[@]}" "$tmp/plain.png" --left 32 --bottom 16 --overlap 16 -o "$tmp/wide.png"
if [ "$status" -eq 0 ] && file "$tmp/wide.png" | grep -q "160 x 144"; then ok "outpaint --left --bottom --overlap"
else not_ok "outpaint --left --bottom --overlap" "status $status, $(file "$tmp/wide.png")" "$tmp/err"; fi

# The device fallback line: never without -v; with -v exactly when auto ended on the CPU.
fallback="no usable Vulkan GPU"
run env TESSERA_DEVICE=auto "$cli" generate "${m[@]}" "red apple" -o "$tmp/auto.png"
if [ "$status" -eq 0 ] && ! grep -q "$fallback" "$tmp/err"; then ok "no fallback line without -v"
else not_ok "no fallback line without -v" "status $status" "$tmp/err"; fi
run env TESSERA_DEVICE=auto "$cli" generate "${m[@]}" "red apple" -v -o "$tmp/auto.png"
if [ "$status" -ne 0 ]; then
  not_ok "-v says why the CPU runs" "status $status" "$tmp/err"
elif grep -q "loaded on cpu" "$tmp/err"; then
  if grep -q "^tessera-cli: $fallback (.*); using the CPU backend$" "$tmp/err"; then ok "-v says why the CPU runs"
  else not_ok "-v says why the CPU runs" "no fallback line" "$tmp/err"; fi
else
  ok "-v says why the CPU runs # SKIP a Vulkan GPU ran it"
fi
run env TESSERA_DEVICE=auto "$cli" info
if [ "$status" -ne 0 ] || ! grep -q "Chosen backend" "$tmp/out"; then
  not_ok "info: the device report says why the CPU runs" "status $status" "$tmp/out"
elif grep -q "Chosen backend: cpu" "$tmp/out" && ! grep -q "^tessera-cli: $fallback" "$tmp/err"; then
  not_ok "info: the device report says why the CPU runs" "no fallback line" "$tmp/err"
else
  ok "info: the device report says why the CPU runs"
fi

echo "1..$n"
[ "$failed" -eq 0 ]
