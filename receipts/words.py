"""The total in Vietnamese words (TgTienBChu), as receipts and invoices write it.

num2words (``lang="vi"``) reads each group of three digits correctly, but joins the groups as speech does
("một triệu lẻ năm", and wrongly "một nghìn lẻ mười"). Financial documents read every group after the first
in full so that no digit is left implicit. The rule here:

- digits are grouped by three from the right: units, nghìn, triệu, then tỷ, which repeats for larger
  amounts (one thousand billion is "một nghìn tỷ");
- the leading group is read as num2words reads it: 15 "mười lăm", 105 "một trăm linh năm";
- every later non-zero group is read with its hundreds, "không trăm" when they are zero, and "linh" before
  a lone unit digit: 1,000,005 is "một triệu không trăm linh năm", 1,010 "một nghìn không trăm mười";
- a group that is all zeros is left out with its scale word: 1,000,000,000 is "một tỷ";
- "linh", not the southern "lẻ", for the zero tens;
- the first letter is capitalised and "đồng" ends the text; 0 is "Không đồng".
"""

from __future__ import annotations

from functools import lru_cache

from num2words import num2words

BILLION = 1_000_000_000
_SCALES = ((1_000_000, "triệu"), (1_000, "nghìn"), (1, ""))


@lru_cache(maxsize=2048)
def _plain(number: int) -> str:
    """0..999 as num2words reads it, with the northern "linh"."""
    return str(num2words(number, lang="vi")).replace("lẻ", "linh")


def _group(number: int, *, full: bool) -> str:
    """One group of three digits; ``full`` reads its hundreds even when they are zero."""
    if not full:
        return _plain(number)
    hundreds, rest = divmod(number, 100)
    head = f"{_plain(hundreds)} trăm"
    if rest == 0:
        return head
    if rest < 10:
        return f"{head} linh {_plain(rest)}"
    return f"{head} {_plain(rest)}"


def _below_billion(number: int, *, leading: bool) -> list[str]:
    words: list[str] = []
    started = not leading
    for scale, name in _SCALES:
        group = number // scale % 1000
        if group == 0:
            continue
        words.append(_group(group, full=started))
        if name:
            words.append(name)
        started = True
    return words


def _read(number: int, *, leading: bool) -> list[str]:
    if number < BILLION:
        return _below_billion(number, leading=leading)
    billions, rest = divmod(number, BILLION)
    return [*_read(billions, leading=leading), "tỷ", *_below_billion(rest, leading=False)]


def amount_in_words(amount: int) -> str:
    """A whole amount of đồng in words, capitalised: 150000 gives "Một trăm năm mươi nghìn đồng"."""
    if isinstance(amount, bool) or not isinstance(amount, int) or amount < 0:
        raise ValueError(f"amount must be a whole non-negative number of đồng, not {amount!r}")
    text = " ".join(_read(amount, leading=True)) if amount else "không"
    return f"{text[0].upper()}{text[1:]} đồng"
