"""The terminal tables: `lstm-course check` wraps its feedback, never cuts it."""

from autograder.table import render

FEEDBACK = (
    "gates_backward: grad_gates is taken after the activations: multiply by the "
    "local derivatives, s * (1 - s) for i, f, o and 1 - g**2 for g, to get the "
    "gradient with respect to the pre-activations"
)
ROWS = [("gates_backward", "0/3", FEEDBACK), ("sigmoid_backward", "3/3", "✓ matches")]
HEADER = ("exercise", "points", "feedback")


def test_wrapped_feedback_keeps_every_word_under_its_column():
    lines = render(HEADER, ROWS, width=60, wrap=True).splitlines()
    column = lines[0].index("feedback")
    first = next(i for i, line in enumerate(lines) if line.startswith("gates_backward"))
    last = next(i for i, line in enumerate(lines) if line.startswith("sigmoid"))
    feedback = [line[column:] for line in lines[first:last]]
    assert " ".join(feedback) == FEEDBACK  # every word, in order, nothing cut
    assert len(feedback) > 2 and "…" not in "".join(lines)
    assert all(len(line) <= 60 for line in lines)
    assert all(line[:column].strip() == "" for line in lines[first + 1 : last])
    assert lines[last][column:] == "✓ matches"


def test_a_word_longer_than_the_column_is_kept_whole():
    path = "notebooks/02_lstm_cell/02_lstm_cell.ipynb"
    lines = render(HEADER, [("x", "0/1", f"see {path} for it")], 30, wrap=True)
    assert any(path in line for line in lines.splitlines())


def test_without_wrap_the_last_column_is_cut_to_the_width():
    lines = render(HEADER, ROWS, width=60).splitlines()
    assert len(lines) == 3 and lines[1].endswith("…") and len(lines[1]) == 60


def test_korean_columns_line_up_by_terminal_width():
    """Hangul takes two columns: the feedback column starts at the same column on
    every line, and wrapped lines fit the width."""
    from autograder.table import columns_of

    rows = [
        ("게이트", "0/3", "역전파 " * 20),
        ("sigmoid_backward", "3/3", "✓ 맞습니다"),
    ]
    lines = render(
        ("연습 문제", "점수", "피드백"), rows, width=60, wrap=True
    ).splitlines()
    starts = {
        columns_of(line[: line.index(word)])
        for line, word in zip(
            [lines[0], lines[1], lines[-1]], ["피드백", "역전파", "✓"], strict=True
        )
    }
    assert len(starts) == 1, lines
    assert all(columns_of(line) <= 60 for line in lines), lines


def test_a_passed_exercise_shows_its_hidden_tests_confirmation():
    """A prediction's visible test only checks the form ("graded by the hidden test;
    the figure below shows the answer"): once everything passed, the row says what
    the hidden test confirmed; a failing cell's line still comes first."""
    from autograder.grading.check import CellResult, Report, by_exercise

    visible = "✓ your predictions are well formed (graded by the hidden test)"
    hidden = "✓ your predictions are right"
    report = Report("01.ipynb")
    report.cells = [
        CellResult("test-predict", 1, 1, visible, "predict"),
        CellResult("test-predict-hidden", 2, 2, hidden, "predict"),
        CellResult("test-cell", 0, 1, "rnn_cell differs", "cell"),
        CellResult("test-cell-hidden", 0, 2, "rnn_cell differs (hidden)", "cell"),
        CellResult("test-plain", 1, 1, "✓ plain", "plain"),
    ]
    assert by_exercise(report) == [
        ("predict", 3, 3, hidden),
        ("cell", 0, 3, "rnn_cell differs"),
        ("plain", 1, 1, "✓ plain"),
    ]
    report.cells[1].score = 0
    report.cells[1].feedback = "for rho = 0.9 you predicted 45"
    assert by_exercise(report)[0] == ("predict", 1, 3, "for rho = 0.9 you predicted 45")


def test_a_message_of_several_lines_shows_every_line_under_its_column():
    """A check that lists several problems ("(and 2 more below)") gives one a line:
    the table shows them all, each wrapped under its own indentation."""
    message = (
        "shapes_stacked: B h_n: you wrote (1, 3, 20), the shape is (2, 3, 20) (and 2 "
        "more below)\n  D h_n: you wrote (3, 4, 16), the shape is (3, 4, 16)\n  "
        "F c_n: you wrote (1, 20), the shape is (2, 20) [shapes-stacked/c-projected]"
    )
    lines = render(HEADER, [("shapes-stacked", "0/2", message)], 70, wrap=True)
    lines = lines.splitlines()
    column = lines[0].index("feedback")
    shown = [line[column:] for line in lines[1:]]
    assert " ".join(" ".join(shown).split()) == " ".join(message.split())
    assert (
        sum(line.startswith("  D h_n") or line.startswith("  F c_n") for line in shown)
        == 2
    )
    assert all(len(line) <= 70 for line in lines)
    cut = render(HEADER, [("shapes-stacked", "0/2", message)], 70).splitlines()
    assert len(cut) == 2 and cut[1].endswith("…")


def test_feedback_of_a_failed_check_is_its_whole_message():
    """`lstm-course check` (table and --json) reads a failed check whole: every
    problem it lists and the mistake id at the end; the first line otherwise."""
    from nbformat.v4 import new_code_cell, new_output

    from autograder.grading.feedback import cell_feedback

    evalue = "t: A (and 1 more below)\n  B [shapes-stacked/c-projected]"
    cell = new_code_cell("checks.check()")
    cell.outputs = [new_output("error", ename="CheckFailed", evalue=evalue)]
    assert cell_feedback(cell) == "t: A (and 1 more below)"
    assert cell_feedback(cell, whole=True) == evalue
