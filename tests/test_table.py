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
