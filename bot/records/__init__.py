"""Records management: the audit of the case timelines, legal holds, retention and purge.

* :mod:`bot.records.chain` and :mod:`bot.records.audit`: ``python -m bot audit verify``
  names the first event of a case that was altered or removed.
* :mod:`bot.records.hold`: ``python -m bot hold REF --on|--off --reason …`` keeps one case
  from being purged, on its timeline.
* :mod:`bot.records.retention` and :mod:`bot.records.purge`: ``python -m bot purge
  --dry-run|--apply`` deletes what the pack's retention rules let go, files included, and
  logs each purge in ``purge_log``.
* :mod:`bot.records.cli`: the command-line parsers for the three commands.
"""
