"""Domain rules written once, as pure functions (no database, no Qt).

Layering: ``desktop.validation`` < ``desktop.domain`` < ``desktop.db``/``desktop.models`` <
``desktop.services`` < ``desktop.sync``/``desktop.exchange``/``desktop.printing`` < ``desktop.cli``.
Modules here import only the standard library and ``desktop.validation`` (code tables, calendar
rules), so every layer above - and the UI - can use them.

- `desktop.domain.marks`: the derived care marks (流动人口 / 失业人员 / 独居老人) and the
  ``,code,code,`` text they are stored as.
- `desktop.domain.formatting`: dates, times, ages and care-mark labels as the user reads them.
- `desktop.domain.areas`: the area tree (district → street → community → grid): grids under an
  area, the community of a grid.

Reading typed dates, ages and "N years before" are in `desktop.validation.dates` (the ID-number
checker needs them too).
"""
