"""Grading: one notebook, a class, a cluster, and nbgrader's gradebook.

Owns nbgrader's configuration (`options`) and the steps it runs (`execute`,
`restore`, `feedback`), the course and its temporary copies (`course`), the
gradebook (`gradebook`), a learner's own check (`check`), and a class graded by
local workers or a Dask cluster (`grade`, `worker`, `cluster`). May use `sealed`,
`checks` and the base modules; never `editions` or the CLI.
"""
