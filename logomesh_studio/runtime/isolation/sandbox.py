"""The sandbox an isolated plugin's process puts itself in at start.

Applied by the child once, before any thread exists (Landlock and seccomp bind the
calling thread and the threads and processes it creates later):

- Landlock: the plugin's folder, the Python installation and system libraries are
  read-only; the plugin's data folder and its ``[limits] files`` are writable;
  nothing else can be opened (another plugin's folder, ``/etc/passwd``, ``$HOME``).
- seccomp: no ``socket`` (unless ``[limits] network = true``), no ``execve``, no
  ``ptrace`` or ``process_vm_*`` (other processes' memory), and signals only to itself.
- ``no_new_privs`` (both of the above set it).

Each protection the kernel (or the system) lacks is reported as missing, with why;
the plugin still runs, isolated by process. :func:`probe` tells what this machine
supports without applying anything (for ``logomesh-studio check`` and the plugin tree).
"""

from __future__ import annotations

import errno
import os
import site
import sys
from collections.abc import Iterable
from dataclasses import dataclass, field
from pathlib import Path

import logomesh_studio

LANDLOCK, SECCOMP = "landlock", "seccomp"
PROTECTIONS = (LANDLOCK, SECCOMP)
ON = "on"

_SYSTEM_LIBRARIES = ("/lib", "/lib64", "/usr/lib", "/usr/lib64", "/usr/share/zoneinfo",
                     "/etc/ld.so.cache", "/etc/localtime")
_DEVICES = ("/dev/null", "/dev/zero", "/dev/urandom", "/dev/random")
_DENIED = ("execve", "execveat", "ptrace", "process_vm_readv", "process_vm_writev",
           "pidfd_getfd", "pidfd_send_signal")


@dataclass(frozen=True, slots=True)
class SandboxPlan:
    """What one child may touch: read-only paths, writable paths, and the network."""

    read: tuple[str, ...]
    write: tuple[str, ...]
    network: bool = False
    extra: dict[str, str] = field(default_factory=dict)


def python_paths() -> list[str]:
    """Where the interpreter, the standard library, installed packages and the runtime's
    own package live (read-only in the sandbox)."""
    found = {sys.prefix, sys.base_prefix, sys.exec_prefix, sys.base_exec_prefix,
             os.path.dirname(os.path.abspath(logomesh_studio.__file__)),
             os.path.dirname(os.path.realpath(sys.executable))}
    found.update(site.getsitepackages())
    return sorted(p for p in found if p and os.path.exists(p))


def plan_for(folder: Path, data_dir: Path, files: Iterable[str], network: bool) -> SandboxPlan:
    """The sandbox of a plugin in ``folder``: ``files`` are relative to it or absolute."""
    extra = [str(folder / f) if not os.path.isabs(f) else f for f in files]
    return SandboxPlan(read=(str(folder), *python_paths(), *_SYSTEM_LIBRARIES),
                       write=(str(data_dir), *_DEVICES, *extra), network=network)


def apply(plan: SandboxPlan) -> dict[str, str]:
    """Sandbox the calling process (no thread may exist yet); per protection ``"on"`` or
    ``"missing: why"``."""
    seccomp = _seccomp(plan.network)  # first: libseccomp needs files Landlock would hide
    return {LANDLOCK: _landlock(plan), SECCOMP: seccomp}


def probe() -> dict[str, str]:
    """What this machine's kernel supports, per protection, without applying it."""
    report = {}
    try:
        import landlock

        abi = landlock.landlock_abi_version()
        report[LANDLOCK] = ON if abi >= 1 else "missing: Landlock is disabled"
    except Exception as exc:  # no module, no syscall, disabled by the kernel's lsm list
        report[LANDLOCK] = f"missing: {_why(exc)}"
    try:
        import pyseccomp

        pyseccomp.SyscallFilter(pyseccomp.ALLOW)
        report[SECCOMP] = ON
    except Exception as exc:  # libseccomp absent or too old
        report[SECCOMP] = f"missing: {_why(exc)}"
    return report


def _why(exc: BaseException) -> str:
    if isinstance(exc, ImportError):
        return f"the {exc.name} module is not installed"
    return str(exc) or type(exc).__name__


def _landlock(plan: SandboxPlan) -> str:
    try:
        import landlock
        from landlock.plumbing import FSAccess

        landlock.landlock_abi_version()
        everything = FSAccess.all()
        ruleset = landlock.Ruleset(restrict_rules=everything)
        reading = FSAccess.READ_FILE | FSAccess.READ_DIR | FSAccess.EXECUTE
        for paths, rights in ((plan.read, reading), (plan.write, everything)):
            for path in paths:
                if not os.path.exists(path):
                    continue
                # A rule on a file may only carry file rights.
                allowed = rights if os.path.isdir(path) else rights & FSAccess.all_file()
                ruleset.allow(path, rules=allowed)
        ruleset.apply()
    except Exception as exc:  # unsupported kernel, missing module, a refused rule
        return f"missing: {_why(exc)}"
    return ON


def _seccomp(network: bool) -> str:
    try:
        import pyseccomp

        refuse = pyseccomp.ERRNO(errno.EPERM)
        rules = pyseccomp.SyscallFilter(pyseccomp.ALLOW)
        for name in _DENIED:
            rules.add_rule(refuse, name)
        if not network:
            rules.add_rule(refuse, "socket")
        me = os.getpid()
        rules.add_rule(refuse, "kill", pyseccomp.Arg(0, pyseccomp.NE, me))
        rules.add_rule(refuse, "tgkill", pyseccomp.Arg(0, pyseccomp.NE, me))
        rules.load()
    except Exception as exc:  # libseccomp missing or refusing the filter
        return f"missing: {_why(exc)}"
    return ON


def describe(report: dict[str, str]) -> str:
    """One line on how an isolated plugin is protected, naming what is missing and why."""
    missing = {name: state for name, state in report.items() if state != ON}
    if not missing:
        return f"runs in its own process, sandboxed ({', '.join(report)})"
    lacks = "; ".join(f"{name} ({state.removeprefix('missing: ')})"
                      for name, state in missing.items())
    return f"runs in its own process; this machine lacks {lacks}"
