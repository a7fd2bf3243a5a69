"""Which attacks get through: `python tests/adversarial/report.py [--isolate]`.

Grades every attack as tests/test_adversarial.py does and prints, per attack,
"stopped" or what it earned beyond its expected outcome, then the checks on the
class around the attackers. Run unsealed (LSTM_COURSE_UNSEALED=1, or on a tree
from before sealing) it proves that each attack has teeth; `--isolate` then grades
the attacks that reach classmates (SPREADERS) in a class of their own, so that they
spoil no other attack's proof.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from adversarial import classroom  # noqa: E402
from adversarial.attacks import ATTACKS  # noqa: E402


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--isolate", action="store_true")
    args = parser.parse_args()
    results = classroom.results(isolate_spreaders=args.isolate)
    through = 0
    for attack in ATTACKS:
        found = results.mismatches(attack)
        through += bool(found)
        print(f"{attack.via}:{attack.name}: {'GETS THROUGH' if found else 'stopped'}")
        for line in found:
            print(f"    {line}")
    for name, check in classroom.CLASS_CHECKS.items():
        found = check(results)
        through += bool(found)
        print(f"class: {name}: {'BROKEN' if found else 'holds'}")
        for line in found:
            print(f"    {line[:300]}")
    print(f"{through} of {len(ATTACKS) + len(classroom.CLASS_CHECKS)} got through")
    return 1 if through else 0


if __name__ == "__main__":
    sys.exit(main())
