"""tools/mutation.py: which mutants are help texts, left out of the score as prose."""

import pytest

from tools.mutation import is_prose

SOURCE = """
def build(parser):
    parser.add_argument("--max", type=int, default=3, help="the largest answer read")
    parser.add_argument(
        "--token",
        help="a bearer token "
        "of tenant A",
    )
    raise ValueError("the largest answer read")
"""


def diff(removed: list[str], added: list[str]) -> str:
    return "\n".join(["--- m.py", "+++ m.py", *("-" + line for line in removed), *("+" + line for line in added)])


@pytest.mark.parametrize(
    ("removed", "added", "prose"),
    [
        # the help text itself, altered or dropped
        (
            ['    parser.add_argument("--max", type=int, default=3, help="the largest answer read")'],
            ['    parser.add_argument("--max", type=int, default=3, help="XXthe largest answer readXX")'],
            True,
        ),
        (['        "of tenant A",'], ['        "XXof tenant AXX",'], True),
        (['        help="a bearer token "', '        "of tenant A",'], ["        help=None,"], True),
        # behaviour on the same line as a help text, or the same words outside one
        (
            ['    parser.add_argument("--max", type=int, default=3, help="the largest answer read")'],
            ['    parser.add_argument("--max", type=int, default=4, help="the largest answer read")'],
            False,
        ),
        (
            ['    parser.add_argument("--max", type=int, default=3, help="the largest answer read")'],
            ['    parser.add_argument("--MAX", type=int, default=3, help="the largest answer read")'],
            False,
        ),
        (
            ['    raise ValueError("the largest answer read")'],
            ['    raise ValueError("XXthe largest answer readXX")'],
            False,
        ),
        (['        "--token",'], ['        "--TOKEN",'], False),
    ],
)
def test_only_changes_inside_a_help_text_are_prose(removed: list[str], added: list[str], prose: bool) -> None:
    assert is_prose(diff(removed, added), SOURCE) is prose
