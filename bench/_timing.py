"Timing helpers shared by the benchmarks in bench/ (imported as `from _timing import best`; bench/ is on the path when a script runs)."
import time

def best(fn, repeat:int):
    "Best-of-`repeat` seconds of `fn()`, and its last result."
    t_best, out = float("inf"), None
    for _ in range(repeat):
        t0 = time.perf_counter(); out = fn(); t_best = min(t_best, time.perf_counter() - t0)
    return t_best, out
