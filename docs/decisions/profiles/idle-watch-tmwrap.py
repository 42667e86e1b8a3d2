"""Run watchproxy with tracemalloc; SIGUSR1 dumps a snapshot to $TM_OUT.<n>."""
import os, signal, sys, tracemalloc, runpy
if os.environ.get("TM_OUT"):
    tracemalloc.start(12)
    n = [0]
    def dump(*_):
        import gc; gc.collect()
        tracemalloc.take_snapshot().dump(f"{os.environ['TM_OUT']}.{n[0]}"); n[0] += 1
    signal.signal(signal.SIGUSR1, dump)
else:
    def g(*_):
        import gc; gc.collect()
    signal.signal(signal.SIGUSR1, g)
sys.argv = ["watchproxy", *sys.argv[1:]]
runpy.run_module("watchproxy", run_name="__main__")
