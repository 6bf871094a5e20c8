"""Pure parse functions, one module per API: response bytes/JSON in, Records out.

Every parser yields one `Parsed` per record so that a single malformed record
is quarantined with its raw text while the rest of the page is stored.
"""

from spiders.parsers.common import PageError, Parsed

__all__ = ["Parsed", "PageError"]
