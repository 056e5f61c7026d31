"""The register for the corporate office, and what it hands to others (DOMAIN.md section 1).

Three commands, all read-only against the database:

* ``python -m bot export register`` streams every case, one row each, as CSV or JSON
  (:mod:`bot.register.export`, reading through :mod:`bot.register.query`);
* ``python -m bot evidence-pack REF --out FILE.zip`` and ``… evidence-pack verify FILE.zip``
  make and check the archive for the police (:mod:`bot.register.evidence`,
  :mod:`bot.register.verify`);
* ``python -m bot report monthly`` writes one self-contained HTML page of counts and times,
  every count under 5 shown as "fewer than 5" (:mod:`bot.register.monthly`).
"""
