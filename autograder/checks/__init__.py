"""Check helpers that test cells call: one module per notebook, built on `core`.

Imported in a notebook's kernel after pyplot (its setup cell), this also gives the
figures a font for the learner's language (`autograder.fonts`).
"""

from autograder import fonts, i18n

fonts.for_notebook(i18n.current())
