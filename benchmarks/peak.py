"""Peak memory of a benchmark child process, for pasting into its ``python -c`` source.

On Linux ``ru_maxrss`` survives ``fork`` and ``exec``: a child started from a large benchmark
process would report the parent's peak. ``VmHWM`` in ``/proc/self/status`` belongs to the new
program alone, so it is read where it exists; elsewhere ``ru_maxrss`` is the figure.
"""

#: Defines ``peak_kib()`` in the child: the peak resident set, in ``ru_maxrss`` units (KiB on
#: Linux, bytes on macOS).
PEAK_SOURCE = """
import resource as _resource

def peak_kib():
    try:
        with open("/proc/self/status") as status:
            for line in status:
                if line.startswith("VmHWM:"):
                    return int(line.split()[1])
    except OSError:
        pass
    return _resource.getrusage(_resource.RUSAGE_SELF).ru_maxrss
"""
