"""OpenBLAS's kernels for torch, set before torch loads the library (import this first).

Debian 12's OpenBLAS 0.3.21 does not know every CPU and then takes its Prescott (SSE3)
kernels: on family 6 model 207, torch's sgemm ran at 15 GFLOP/s against 60 with
OPENBLAS_CORETYPE=SkylakeX on the same core, and a transformer training step went from 0.33
to 0.77 steps/s. The library reads the variable as it loads, so it is set here, from the CPU's
flags, unless the user set it: SkylakeX with AVX-512, Haswell with AVX2 and FMA (what OpenBLAS
picks itself on CPUs it knows), nothing otherwise. The C programs do the same with
ts_process_reexec_if_needed (compute/ts-process.h)."""
import os


def _flags():
    try:
        with open("/proc/cpuinfo") as f:
            for line in f:
                if line.startswith("flags"):
                    return set(line.split(":", 1)[1].split())
    except OSError:
        pass
    return set()


def choose():
    if os.environ.get("OPENBLAS_CORETYPE"):
        return os.environ["OPENBLAS_CORETYPE"]
    flags = _flags()
    core = None
    if {"avx512f", "avx512bw", "avx512vl", "avx512dq", "avx512cd"} <= flags:
        core = "SkylakeX"
    elif {"avx2", "fma"} <= flags:
        core = "Haswell"
    if core:
        os.environ["OPENBLAS_CORETYPE"] = core
    return core


choose()
