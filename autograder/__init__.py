"""The course's grading side: nbgrader glue, check helpers and the lstm-course CLI."""
