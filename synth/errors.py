"""Errors users see as one line on stderr, with the exit codes documented in the README."""

import click

EXIT_PARTIAL = 1  # some source failed; what succeeded is kept
EXIT_USAGE = 2  # usage or input error
EXIT_LOCKED = 75  # EX_TEMPFAIL: another refresh holds the project lock


class SynthError(click.ClickException):
    """A user-facing error: printed as `Error: <message>`, exit code 2 unless given."""

    exit_code = EXIT_USAGE

    def __init__(self, message: str, exit_code: int | None = None):
        # One line, always: messages may quote user data (a CSV header cell, a title) holding newlines.
        super().__init__(" ".join(str(message).split()))
        if exit_code is not None:
            self.exit_code = exit_code
