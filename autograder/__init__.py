"""The course's grading side, by job; each layer imports only from those below it
(the import-linter contracts in pyproject.toml):

    cli, lab, __main__      the `lstm-course` commands and `make lab`
    editions                masters -> releases, both languages, points
    report                  what a graded class got wrong: page, CSV, JSON
    grading                 a notebook, a class, a cluster; nbgrader and its gradebook
    sealed                  the learner's kernel in its sandbox; the trusted verdict
    checks                  what a learner's test cell calls
    notebooks               reading notebooks and recognising their assignment
    i18n, fonts, table      the learner's language, its font, terminal tables
    settings, errors        plain values and the course's one error type
"""

import sys

# jsonschema (nbformat's validator) imports rfc3987_syntax where it is installed
# (jupyter-events requires it), and that builds a Lark grammar on import: over a
# second of every command. It checks only the "iri" formats, which no notebook
# schema uses, so the course's processes go without it.
sys.modules.setdefault("rfc3987_syntax", None)
