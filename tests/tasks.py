"""Module-level tasks for ``vraagbaak.isolation.Workers`` in the tests (a worker imports them by name)."""

import os
import signal
import time


def echo(item, progress):
    progress(item, "begonnen")
    return item


def die_on_bomb(item, progress):
    """Dies as the kernel kills a process (SIGKILL) on the item "bom"; returns the others."""
    if item == "bom":
        os.kill(os.getpid(), signal.SIGKILL)
    return item


def allocate(megabytes, progress):
    """Takes ``megabytes`` of memory and touches it."""
    block = bytearray(megabytes * 1024 * 1024)
    return len(block) // (1024 * 1024)


def hang(item, progress):
    if item == "hang":
        time.sleep(3600)
    return item


def pid(item, progress):
    return os.getpid()


def environment(name, progress):
    return os.environ.get(name)
