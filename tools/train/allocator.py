"""Runs the training tools on jemalloc when Debian's libjemalloc2 is installed.

glibc's malloc hands every block over 32 MB (a batch of 128x128 activations is larger) to
mmap and returns it with munmap when torch frees it, so each step page-faults its
activations in again: 40 % of a CPU step was kernel time (VQ decoder fine-tuning, 1 thread:
51 s for 20 steps, 19 s of it system time). jemalloc told never to return freed pages took
31 s. Import this module before torch; it re-executes the script once with LD_PRELOAD set.
Not for the transformer stage: there, with tensors whose size changes every step, the kept
pages grew past 24 GB within 150 steps (train.py keeps that stage on glibc's malloc)."""
import glob
import os
import sys

MARK = "TESSERA_TRAIN_ALLOCATOR"


def use_jemalloc():
    if os.environ.get(MARK):
        return
    found = sorted(glob.glob("/usr/lib/*/libjemalloc.so.2"))
    if not found:
        print("note: libjemalloc2 is not installed; training runs on glibc malloc, up to 1.6x slower "
              "on the CPU (apt-get install libjemalloc2)", file=sys.stderr)
        return
    env = dict(os.environ)
    env[MARK] = found[0]
    env["LD_PRELOAD"] = ":".join(filter(None, [found[0], env.get("LD_PRELOAD")]))
    env.setdefault("MALLOC_CONF", "dirty_decay_ms:-1,muzzy_decay_ms:-1,background_thread:false")
    os.execve(sys.executable, [sys.executable] + sys.argv, env)
