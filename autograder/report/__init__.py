"""`lstm-course report`: what a graded class got wrong, from nbgrader's gradebook
and the autograded notebooks; one module a job:

    build       where the class is; gradebook and notebooks in, page and tables out
    scores      the scores and the release's answers, read from the gradebook
    graded      an autograded notebook: errors, answers, the grader's incidents
    exercises   an assignment's exercises and their test cells, from its master
    diagnosis   why a graded cell lost its points: a mistake id, or a category
    similar     the shape of an answer's code, and the answers that share one
    analysis    the tables: results, mistakes, students, incidents, alike answers
    figures     the matplotlib figures, as data URIs
    page        the self-contained HTML page
    export      the tables as CSV files and JSON
"""
