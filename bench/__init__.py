"""The performance benchmark suite (issue #7): the bot against the peers it is built on.

``make bench`` (``python -m bench``) starts each server in turn as a subprocess on loopback,
drives it with ``wrk`` replaying requests signed just before the run, and writes
``bench/results.json`` and ``bench/results.md``:

* the limit: a bare aiohttp handler answering 200 (:mod:`bench.peers`);
* the peers: a plain slack-bolt ``AsyncApp`` whose listeners only ack, and the stock
  botbuilder ``CloudAdapter`` with a no-op bot (:mod:`bench.peers`);
* the bot itself, ``python -m bot serve`` against local fakes of Slack and the Bot
  Framework connector (:mod:`bench.fakes`): the ``/report-abuse`` slash command, a triage
  press, a Teams message and a Teams card press (:mod:`bench.scenarios`);
* the register at 1,000,000 reports: the recurring-sender lookup and the CSV export
  (:mod:`bench.register`); idle memory and the time from start to ``/healthz`` 200.

``python -m bench --smoke`` runs the same suite for a second or two per server on a small
register; ``tests/bench/test_bench_smoke.py`` runs it in ``make test`` so it cannot rot.
"""
