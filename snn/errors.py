"""Errors that a user can fix: bad input, missing data, an absent device.

The command line prints any `UserError` as one line and exits with 2. Every other exception is a
bug (in the harness or the code under test) and keeps its traceback, so a bug never reads as if
the user had typed something wrong. `snn` defines the base class because its data errors belong
to the family; the harness adds its own subclasses.
"""


import re

# How torch re-raises an exception from a DataLoader worker: it calls the exception's class with
# one string, "Caught <Class> in DataLoader worker process N.\nOriginal Traceback ...", whose
# last line is "<module.Class>: <the original message>".
_FROM_WORKER = re.compile(r"Caught \w+ in DataLoader worker process \d+\.\nOriginal Traceback")


def _original_message(message: str) -> str:
    """The one-line message a worker raised, from torch's re-raised form; else the message."""
    if not _FROM_WORKER.match(message):
        return message
    last = message.rstrip().splitlines()[-1]
    return re.sub(r"^[\w.]+: ", "", last, count=1)


class UserError(Exception):
    """A mistake the user can fix; the message names the problem and the fix.

    Every subclass takes its message as the one positional argument it can be rebuilt from, so
    one raised in a DataLoader worker reaches the user as itself, with its own one-line message.
    """

    def __init__(self, message: str = "", *args):
        super().__init__(_original_message(str(message)), *args)
