"""Errors users see as one line on stderr, with the exit codes documented in the README.

The library raises `SynthError`; only the CLI (synth/cli.py) knows about click and turns it into
`Error: <message>` and the exit code, so the library can be used without click.
"""

EXIT_PARTIAL = 1  # some source failed; what succeeded is kept
EXIT_USAGE = 2  # usage or input error
EXIT_LOCKED = 75  # EX_TEMPFAIL: another refresh holds the project lock


class SynthError(Exception):
    """A user-facing error: printed as `Error: <message>`, exit code 2 unless given."""

    exit_code = EXIT_USAGE

    def __init__(self, message: str, exit_code: int | None = None):
        # One line, always: messages may quote user data (a CSV header cell, a title) holding newlines.
        self.message = " ".join(str(message).split())
        super().__init__(self.message)
        if exit_code is not None:
            self.exit_code = exit_code

    def format_message(self) -> str:
        return self.message
