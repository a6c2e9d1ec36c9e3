"""Property tests where the inputs are open-ended: whatever a user pastes, the normalisers are
stable and the checkers agree with themselves. (hypothesis draws the inputs; a failure prints the
smallest example it found.)"""

from __future__ import annotations

import math
from datetime import date

from hypothesis import example, given, settings
from hypothesis import strategies as st
from sqlalchemy import Boolean, Date, DateTime, Float, Integer, String

from desktop.services.coerce import CoerceError, coerce
from desktop.services.search import normalize_query
from desktop.validation import check_id_number, check_plate, make_id_number
from desktop.validation.idcard import normalize_id_text
from desktop.validation.plate import LETTERS, PROVINCES, normalize_plate_text

FULLWIDTH = {chr(c): chr(c + 0xFEE0) for c in range(0x21, 0x7F)}
NOISE = st.sampled_from([" ", "\u3000", "\t", "\u200b", "\ufeff"])
REGIONS = ["110101", "620104", "440305", "310115", "510107"]


def _scatter(draw, text: str, noise) -> str:
    """`text` with noise characters drawn between its characters."""
    out = []
    for ch in text:
        out.append(ch)
        out.extend(draw(st.lists(noise, max_size=2)))
    return "".join(out)


@st.composite
def id_numbers(draw) -> str:
    born = draw(st.dates(min_value=date(1900, 1, 1), max_value=date(2024, 12, 31)))
    return make_id_number(draw(st.sampled_from(REGIONS)), born, draw(st.integers(0, 999)))


@st.composite
def dirty(draw, clean: str, *, separators: str = "") -> str:
    """How a clean value arrives: full-width characters, lower case, spaces and invisible characters."""
    chars = [FULLWIDTH.get(ch, ch) if draw(st.booleans()) else ch for ch in clean]
    chars = [ch.lower() if draw(st.booleans()) else ch for ch in chars]
    noise = st.one_of(NOISE, st.sampled_from(list(separators))) if separators else NOISE
    return _scatter(draw, "".join(chars), noise)


# --- ID numbers ------------------------------------------------------------------------------------

@given(st.text())
def test_id_normalisation_is_idempotent_and_leaves_no_space(raw):
    once = normalize_id_text(raw)
    assert normalize_id_text(once) == once
    assert not any(ch.isspace() for ch in once)
    assert "x" not in once


@given(st.data())
def test_a_valid_id_number_however_typed_is_valid_and_the_same(data):
    number = data.draw(id_numbers())
    typed = data.draw(dirty(number))
    result = check_id_number(typed, today=date(2025, 6, 1))
    assert (result.ok, result.normalized) == (True, number), result.errors


@given(id_numbers(), st.integers(0, 17), st.sampled_from("0123456789X"))
def test_one_wrong_character_is_always_caught(number, position, replacement):
    if number[position] == replacement or (replacement == "X" and position != 17):
        return  # not a change, or an X where only the check character may be one (caught elsewhere)
    changed = number[:position] + replacement + number[position + 1:]
    assert not check_id_number(changed, today=date(2025, 6, 1)).ok


@given(st.text())
def test_the_id_checker_never_fails_on_any_text(raw):
    result = check_id_number(raw, today=date(2025, 6, 1))
    assert result.ok == (not result.errors)


# --- plates ----------------------------------------------------------------------------------------

@st.composite
def plates(draw) -> str:
    serial = draw(st.text(alphabet="0123456789", min_size=5, max_size=5))
    return draw(st.sampled_from(PROVINCES)) + draw(st.sampled_from(LETTERS)) + serial


@given(st.text())
def test_plate_normalisation_is_idempotent(raw):
    once = normalize_plate_text(raw)
    assert normalize_plate_text(once) == once
    assert once == once.upper()
    assert not any(ch.isspace() or ch in "·-" for ch in once)


@given(st.data())
def test_a_valid_plate_however_typed_is_valid_and_the_same(data):
    plate = data.draw(plates())
    typed = data.draw(dirty(plate, separators="·-"))
    result = check_plate(typed)
    assert (result.ok, result.normalized) == (True, plate), result.errors


@given(st.text())
def test_the_plate_checker_never_fails_on_any_text(raw):
    result = check_plate(raw)
    assert result.ok == (not result.errors)


# --- the search box --------------------------------------------------------------------------------

@given(st.text())
def test_search_normalisation_is_idempotent_and_drops_spaces_and_dots(q):
    once = normalize_query(q)
    assert normalize_query(once) == once
    assert not any(ch.isspace() or ch in "·•" for ch in once)


@given(st.data())
def test_spaces_dots_and_full_width_do_not_change_a_search(data):
    q = data.draw(st.text(alphabet=st.characters(categories=("L", "N")), min_size=1, max_size=12))
    typed = _scatter(data.draw, "".join(FULLWIDTH.get(ch, ch) for ch in q), st.sampled_from([" ", "·", "\u3000"]))
    assert normalize_query(typed) == normalize_query(q)


# --- value coercion --------------------------------------------------------------------------------

@given(st.integers(-(2**53), 2**53))
def test_integers_come_back_however_written(n):
    for written in (str(n), f"{n:,}", "".join(FULLWIDTH.get(ch, ch) for ch in str(n)), f" {n} ", n, float(n)):
        assert coerce(written, Integer()) == n, written


@given(st.floats(allow_nan=False, allow_infinity=False))
def test_floats_come_back_from_their_text(x):
    assert coerce(repr(x), Float()) == x


@given(st.text(), st.integers(1, 40))
def test_text_is_kept_whole_or_refused_never_cut(text, length):
    try:
        value = coerce(text, String(length))
    except CoerceError:
        assert len(text.strip()) > 0
        return
    assert value is None or (len(value) <= length and value in coerce_text_forms(text))


def coerce_text_forms(text: str) -> set[str]:
    import unicodedata

    return {unicodedata.normalize("NFKC", text).strip()}


SPECIAL_NUMBERS = st.sampled_from(["nan", "NaN", "inf", "-inf", "Infinity", "1e400", "-1e400", "1e-400", "1_000",
                                   "0x1F", "１２", "12.0", "12.5", "99999999999999999999999"])


@settings(max_examples=300)
@given(st.one_of(st.text(), SPECIAL_NUMBERS, st.integers(), st.floats(), st.booleans(), st.dates(), st.none()),
       st.sampled_from([Boolean(), Date(), DateTime(), Integer(), Float(), String(16)]))
@example("nan", Integer())
@example("1e400", Float())
@example(float("inf"), Integer())
def test_coercion_answers_a_value_or_a_chinese_reason_for_anything(value, type_):
    try:
        result = coerce(value, type_)
    except CoerceError as exc:
        assert str(exc)  # a sentence to show, never an empty message
        return
    if isinstance(result, float):
        assert math.isfinite(result), (value, result)


@given(st.integers(-(10**30), 10**30))
def test_long_integers_are_kept_exactly(n):
    assert coerce(str(n), Integer()) == n
