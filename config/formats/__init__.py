"""Dates and times as each language writes them (FORMAT_MODULE_PATH), always naming the zone a time is
shown in: the viewer's own. Templates and code ask for them by name: `|date:"DATETIME_FORMAT"`,
`date_format(moment, "DATE_FORMAT")`. What a module leaves out comes from Django's own formats for the
language (numbers: its decimal and thousands separators; money goes through Babel, core/money.py)."""
