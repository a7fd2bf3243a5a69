"""Editions: masters turned into releases, in every language.

Owns the points blocks (`points`), the translated editions (`translations`), the
release (`release`) and the proof that masters earn full marks and releases zero
(`solutions`). May use `grading` (a temporary course runs nbgrader) and the base
modules; never the CLI.
"""
