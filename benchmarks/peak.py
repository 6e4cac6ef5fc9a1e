"""Peak memory of a benchmark child process, for pasting into its ``python -c`` source.

On Linux ``ru_maxrss`` survives ``fork`` and ``exec``: a child started from a large benchmark
process would report the parent's peak. ``VmHWM`` in ``/proc/self/status`` belongs to the new
program alone, so it is read where it exists; elsewhere ``ru_maxrss`` is the figure.
"""

#: Defines ``peak_bytes()`` in the child: its peak resident set size in bytes.
PEAK_SOURCE = """
import resource as _resource
import sys as _sys

def peak_bytes():
    try:
        with open("/proc/self/status") as status:
            for line in status:
                if line.startswith("VmHWM:"):
                    return int(line.split()[1]) * 1024
    except OSError:
        pass
    peak = _resource.getrusage(_resource.RUSAGE_SELF).ru_maxrss
    return peak if _sys.platform == "darwin" else peak * 1024  # macOS counts bytes, Linux KiB
"""
