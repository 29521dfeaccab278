"""Errors that a user can fix: bad input, missing data, an absent device.

The command line prints any `UserError` as one line and exits with 2. Every other exception is a
bug (in the harness or the code under test) and keeps its traceback, so a bug never reads as if
the user had typed something wrong. `snn` defines the base class because its data errors belong
to the family; the harness adds its own subclasses.
"""


class UserError(Exception):
    """A mistake the user can fix; the message names the problem and the fix."""
