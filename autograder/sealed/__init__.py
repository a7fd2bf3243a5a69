"""Sealed grading: the learner's kernel in its sandbox, and the trusted side of a
verdict.

Owns the bubblewrap sandbox and its bounds (`sandbox`, `limits`), the grader's
line into the learner's kernel (`remote`) and the agent that answers it there
(`agent`), and the graded test cells run in the grading process (`trusted`).
May use `checks` (the checks that judge), `notebooks`, `i18n`, `settings`,
`errors`; never `grading`, `editions` or the CLI.
"""
