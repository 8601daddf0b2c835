#!/usr/bin/env python3
"""Make a second goldens folder from the first, to prove the goldens tests follow the manifest.

    remix.py SRC DST [--tamper CASE]

DST gets SRC's data under other names, nothing regenerated:
  * the model folders are renamed (tiny_model.dir and transformer_256path_dir, and every
    case's "model" / "transformer" / file path under them);
  * every case is renamed ("remix_" + name), with every reference to it (weights_from_case)
    and its own files (those whose file name starts with the case's name);
  * with --tamper CASE (a pipeline case, old or new name), that case's call gets another
    prompt and another guidance scale while its recorded tensors stay as they were: its replay
    must then FAIL, naming the case, while every other test passes.

Run the goldens with it:  TESSERA_GOLDENS=DST meson test -C BUILD --suite goldens
Standard library only.
"""
import argparse
import json
import os
import shutil
import sys

MODEL_NAME = "renamed-tiny-model"
TRANSFORMER_NAME = "renamed-256path-transformer"
CASE_PREFIX = "remix_"
TAMPERED_PROMPT = "a green pear on a glass table"


def rename_path(path, folder_renames, file_renames):
    """The new name of a path inside the goldens folder."""
    for old, new in folder_renames.items():
        if path == old or path.startswith(old + "/"):
            path = new + path[len(old):]
            break
    head, base = os.path.split(path)
    for old, new in file_renames:  # longest case names first
        if base.startswith(old):
            return os.path.join(head, new + base[len(old):])
    return path


def rewrite(value, renames):
    """Every string in the manifest that is a path or a case name, renamed."""
    if isinstance(value, dict):
        return {rewrite(k, renames) if isinstance(k, str) else k: rewrite(v, renames)
                for k, v in value.items()}
    if isinstance(value, list):
        return [rewrite(v, renames) for v in value]
    if isinstance(value, str):
        return renames(value)
    return value


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("src")
    ap.add_argument("dst")
    ap.add_argument("--tamper", metavar="CASE",
                    help="change this pipeline case's prompt and guidance without regenerating")
    args = ap.parse_args()

    with open(os.path.join(args.src, "manifest.json"), encoding="utf-8") as f:
        manifest = json.load(f)
    tiny = manifest["tiny_model"]
    folder_renames = {tiny["dir"]: MODEL_NAME, tiny["transformer_256path_dir"]: TRANSFORMER_NAME}
    case_names = {c["name"]: CASE_PREFIX + c["name"] for c in manifest["cases"]}
    file_renames = sorted(case_names.items(), key=lambda kv: -len(kv[0]))

    def renames(s):
        if s in case_names:
            return case_names[s]
        if s in folder_renames:
            return folder_renames[s]
        if os.path.exists(os.path.join(args.src, s)) and "/" in s:
            return rename_path(s, folder_renames, file_renames)
        return s

    # Only the data files the manifest lists, each under its new name.
    if os.path.exists(args.dst):
        shutil.rmtree(args.dst)
    listed = list(manifest["files"])
    for rel in listed:
        dst = os.path.join(args.dst, rename_path(rel, folder_renames, file_renames))
        os.makedirs(os.path.dirname(dst), exist_ok=True)
        shutil.copyfile(os.path.join(args.src, rel), dst)

    remixed = rewrite(manifest, renames)
    remixed["remix"] = {"from": os.path.abspath(args.src), "folders": folder_renames,
                        "case_prefix": CASE_PREFIX}
    if args.tamper:
        name = case_names.get(args.tamper, args.tamper)
        case = next((c for c in remixed["cases"] if c["name"] == name), None)
        if case is None or "call" not in case:
            sys.exit(f"no pipeline case {args.tamper}")
        call = case["call"]
        call["prompt"] = TAMPERED_PROMPT
        call["guidance_scale"] = call.get("guidance_scale", 10.0) + 2.5
        remixed["remix"]["tampered"] = {"case": name, "prompt": call["prompt"],
                                        "guidance_scale": call["guidance_scale"]}
        print(f"tampered: {name}: prompt {call['prompt']!r}, guidance {call['guidance_scale']}")
    with open(os.path.join(args.dst, "manifest.json"), "w", encoding="utf-8") as f:
        json.dump(remixed, f, indent=1)
    print(f"{args.dst}: {len(listed)} files, {len(case_names)} cases renamed "
          f"({CASE_PREFIX}*), model folders {folder_renames}")


if __name__ == "__main__":
    main()
