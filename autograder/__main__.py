"""`python -m autograder` is `lstm-course`."""

import sys

from autograder.cli import main

if __name__ == "__main__":
    sys.exit(main())
