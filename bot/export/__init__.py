"""Export one case whole, for the records and FOI requests: JSON, HTML or PDF.

``python -m bot export case REF --format html|pdf|json [--out FILE]``. The pieces:

* :mod:`bot.export.document` reads the case and builds one plain, JSON-safe dict (the JSON
  format is exactly that dict);
* :mod:`bot.export.layout` puts it in reading order for people;
* :mod:`bot.export.html` and :mod:`bot.export.pdf` draw that order;
* :mod:`bot.export.cli` is the command.
"""

from __future__ import annotations

from bot.export.document import build_document, load_document

__all__ = ["build_document", "load_document"]
