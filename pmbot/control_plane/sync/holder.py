"""Which process holds a sync lease, and whether that process is gone.

A lease row names its holder: host, pid and the process's start. Only a
worker on the same host (same hostname and pid namespace, so the pid means
the same process) can tell that the holder is gone: no process has that pid
any more, it is a zombie, or the pid now belongs to a process that started
at another moment (the pid was reused). A worker killed with SIGKILL is then
replaced at once instead of after the lease expires. Across hosts nothing can
be known, so the lease timeout rules there.
"""

from __future__ import annotations

import os
import socket
from dataclasses import dataclass
from pathlib import Path

_PROC = Path("/proc")


@dataclass(frozen=True)
class Holder:
    host: str
    pid: int
    started: str | None  # boot id and start tick; None where /proc is missing


def this_process() -> Holder:
    pid = os.getpid()
    return Holder(_host(), pid, _started(pid))


def is_gone(holder: Holder, here: Holder) -> bool:
    """True only when `holder` is certainly not running; False when unsure."""
    if holder.host != here.host:
        return False
    if holder.pid == here.pid:
        return holder.started != here.started
    if holder.started is None or here.started is None:
        return not _pid_exists(holder.pid)
    return _started(holder.pid) != holder.started


def _host() -> str:
    """The hostname and, on Linux, the pid namespace: containers may share a hostname."""
    try:
        return f"{socket.gethostname()}/{os.readlink(_PROC / 'self' / 'ns' / 'pid')}"
    except OSError:
        return socket.gethostname()


def _started(pid: int) -> str | None:
    """The boot id and start tick of a live process; None if it is gone, a zombie, or
    the platform has no /proc."""
    try:
        boot_id = (_PROC / "sys" / "kernel" / "random" / "boot_id").read_text().strip()
        stat = (_PROC / str(pid) / "stat").read_text()
    except OSError:
        return None
    fields = stat[stat.rindex(")") + 2 :].split()  # after "pid (comm) ": state is first
    if fields[0] == "Z":
        return None
    return f"{boot_id}:{fields[19]}"


def _pid_exists(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True
